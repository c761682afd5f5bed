"""The planners' notebook runs top to bottom on the seeded sample."""
from __future__ import annotations

from pathlib import Path

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "grid_density.ipynb"


def test_grid_density_notebook_runs(monkeypatch):
    monkeypatch.setenv("CITYGRID_NB_CASES", "20000")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # ipykernel's own python3 (this interpreter), not a "python3" kernelspec some Jupyter install
    # put in ~/.local/share/jupyter or $JUPYTER_PATH, which may point at another Python.
    km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    NotebookClient(nb, km=km, timeout=600, resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "20,000 cases, 76 grids" in text
    # The emerging-hotspot summary lists pattern counts, including hot spots of some kind.
    assert "_hot_spot" in text
    # Figures were drawn (the choropleth, the trend and the emerging map).
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
