"""Loudspeaker messages: templates per violation category (vocab slugs), in Chinese with an
English gloss, with variables such as {place} and {time}; and text-to-speech into WAV with
espeak-ng's Mandarin voice (``espeak-ng -v cmn -w out.wav TEXT``). Audio length comes from
the WAV header. A template is usable only once a commander has approved it (drone.broadcast).
"""
from __future__ import annotations

import hashlib
import shutil
import string
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

from citygrid.errors import InvalidInput
from citygrid.vocab import CATEGORIES
from drone.variables import NAMES as VARIABLES  # typed and bounded: drone.variables

VOICE = "cmn"
MAX_TEXT = 500

# code -> (category slug, Chinese text, English gloss)
DEFAULT_TEMPLATES: dict[str, tuple[str, str, str]] = {
    "occupied_road": ("occupied_road",
                      "{place}的经营户请注意：占道经营违反城市管理规定，请立即将摊位和物品收回店内或规定区域。",
                      "Vendors at {place}: trading on the road breaks city rules; move stalls and goods back "
                      "inside or to the designated area now."),
    "storefront_extension": ("storefront_extension",
                             "{place}的商户请注意：禁止店外经营，请在{deadline}前将店外物品收回。",
                             "Shops at {place}: trading outside the shop is prohibited; bring goods inside "
                             "before {deadline}."),
    "unlicensed_vendor": ("unlicensed_vendor",
                          "{place}的流动摊贩请注意：无照游商经营违反规定，请立即离开，到指定疏导点经营。",
                          "Mobile vendors at {place}: unlicensed hawking is not allowed; leave now and use "
                          "the designated vending point."),
    "illegal_construction": ("illegal_construction",
                             "{place}正在施工的单位和个人请注意：未经规划许可的建设属违法建设，请立即停止施工。",
                             "Builders at {place}: construction without planning permission is illegal; stop "
                             "work now."),
    "noise": ("noise",
              "{place}的经营者请注意：现在是{time}，请立即降低音量，不得使用高音喇叭招揽顾客。",
              "Business owners at {place}: it is {time}; lower the volume now, no loudspeakers to attract "
              "customers."),
    "garbage_sorting": ("garbage_sorting",
                        "{place}的居民朋友请注意：请按照分类要求投放垃圾，不要混投乱放。",
                        "Residents at {place}: please sort your waste into the right bins; do not mix or "
                        "dump it."),
    "outdoor_advertising": ("outdoor_advertising",
                            "{place}的商户请注意：未经审批设置户外广告属违法行为，请在{deadline}前自行拆除。",
                            "Shops at {place}: outdoor advertising without approval is illegal; remove it "
                            "before {deadline}."),
    "cooking_fumes": ("cooking_fumes",
                      "{place}的经营户请注意：禁止露天烧烤，请立即停止，并使用合格的油烟净化设施。",
                      "Vendors at {place}: open-air barbecue is prohibited; stop now and use approved fume "
                      "filters."),
    "construction_waste": ("construction_waste",
                           "{place}请注意：禁止随意倾倒建筑垃圾，请立即清理并按规定运输处置。",
                           "Attention {place}: dumping construction waste is prohibited; clear it now and "
                           "dispose of it as required."),
    "landscaping": ("landscaping",
                    "{place}的市民请注意：请爱护公共绿地，不要占用或踩踏绿化带。",
                    "Citizens at {place}: please protect public green space; do not occupy or trample it."),
    "gas_safety": ("gas_safety",
                   "{place}的人员请注意：发现燃气安全隐患，请立即远离，不要使用明火，等待工作人员处置。",
                   "People at {place}: a gas hazard has been found; move away, no open flames, wait for the "
                   "crew."),
    "illegal_discharge": ("illegal_discharge",
                          "{place}请注意：禁止擅自向雨水管道和河道排放污水，请立即停止排放。",
                          "Attention {place}: discharging sewage into drains and rivers without a permit is "
                          "prohibited; stop now."),
}
assert set(c for c, _, _ in DEFAULT_TEMPLATES.values()) <= set(CATEGORIES)


def variables_of(text: str) -> set[str]:
    """The ``{name}`` fields a template text uses."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def validate_template(text: str) -> None:
    """Refuse a template text that is empty, too long, malformed or uses variables that are not typed
    (InvalidInput listing every problem)."""
    problems = []
    try:
        names = variables_of(text)
    except ValueError as exc:
        raise InvalidInput(f"template text is malformed: {exc}") from None
    unknown = names - set(VARIABLES)
    if unknown:
        problems.append({"where": "text_zh", "problem": f"unknown variables {sorted(unknown)}; "
                                                        f"allowed: {', '.join(VARIABLES)}"})
    if not text.strip():
        problems.append({"where": "text_zh", "problem": "empty"})
    if len(text) > MAX_TEXT:
        problems.append({"where": "text_zh", "problem": f"longer than {MAX_TEXT} characters"})
    if problems:
        raise InvalidInput("invalid broadcast template", problems=problems)


def render(text: str, variables: dict[str, str] | None) -> str:
    """Fill the template's variables with their spoken forms (``drone.variables.spoken_values``
    makes them from what the operator chose); every one it uses must be given."""
    variables = {k: str(v) for k, v in (variables or {}).items()}
    need = variables_of(text)
    missing = sorted(need - set(variables))
    extra = sorted(set(variables) - need)
    problems = [{"where": f"variables.{m}", "problem": "required by the template"} for m in missing]
    problems += [{"where": f"variables.{e}", "problem": "not used by the template"} for e in extra]
    if problems:
        raise InvalidInput("template variables do not match", problems=problems)
    return text.format(**variables)


@dataclass(frozen=True)
class Audio:
    """Synthesized speech: the WAV file, its SHA-256 (what the audit log records) and its length in
    seconds."""
    path: Path
    sha256: str
    duration_s: float


def wav_duration(path: str | Path) -> float:
    """Length of a WAV file in seconds."""
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


def audio_dir() -> Path:
    """The folder synthesized audio is kept in (setting CITYGRID_AUDIO_DIR), created if needed."""
    from citygrid.settings import get_settings

    settings = get_settings()
    d = Path(settings.audio_dir or settings.state_dir / "drone_audio")
    d.mkdir(parents=True, exist_ok=True)
    return d


def synthesize(text: str, out_dir: str | Path | None = None, *, voice: str = VOICE) -> Audio:
    """Speak ``text`` into a WAV (cached by text and voice); return its path, SHA-256 and length."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise RuntimeError("espeak-ng is not installed (Debian package espeak-ng; `make deps`)")
    out_dir = Path(out_dir) if out_dir else audio_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(f"{voice}\x1f{text}".encode()).hexdigest()[:24]
    path = out_dir / f"tts-{voice}-{key}.wav"
    if not path.exists():
        tmp = path.with_suffix(".tmp.wav")
        subprocess.run([exe, "-v", voice, "-w", str(tmp), "--", text], check=True, capture_output=True,
                       timeout=60)
        tmp.replace(path)
    data = path.read_bytes()
    return Audio(path, hashlib.sha256(data).hexdigest(), round(wav_duration(path), 3))


def broadcast_params(audio: Audio, text: str, *, plays: int = 2, volume: int = 80,
                     template: str | None = None) -> dict:
    """The parameters a plan's broadcast action carries (see drone.plan / drone.export)."""
    if not 1 <= plays <= 20:
        raise InvalidInput("plays must be 1..20")
    if not 0 <= volume <= 100:
        raise InvalidInput("volume must be 0..100")
    return {"audio": str(audio.path), "sha256": audio.sha256, "duration_s": audio.duration_s,
            "plays": plays, "volume": volume, "text": text, "template": template}
