"""``foabench bank noise-starter``: the embedded default noise bank, built offline from the ambience, hiss,
machine and hum recordings of Debian's sonic-pi-samples, each encoded as a diffuse AmbiX field.

The clips were chosen by their level over time (steady, or a slow swell the diffuse encoding averages out:
every output sample mixes 32 copies from all over the clip) and their spectrum: broadband or only mildly
tonal. Left out: ``ambi_dark_woosh`` (one whoosh, an event rather than a background), ``ambi_lunar_land``
(a falling noise sweep), and ``ambi_glass_hum`` and ``loop_drone_g_97``, whose few strong partials keep a
coherent, directional component after encoding (Y/Z/X energies 25-75 % off the diffuse 1/3 for most seeds).
Licences come from the package's DEP-5 copyright file; each clip is its own split group.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from foabench.synth.banks.starter.debian_copyright import licence_for
from foabench.synth.banks.starter.drumkits import SONIC_PI_SAMPLES
from foabench.synth.banks.writer import BuildResult
from foabench.synth.noise.bank import NoiseBankBuilder, NoiseSettings, NoiseSource


@dataclass(frozen=True)
class StarterNoise:
    """One packaged recording of the starter noise bank."""

    file: str
    labels: tuple[str, ...]
    caption: str


STARTER_NOISE: tuple[StarterNoise, ...] = (
    StarterNoise("vinyl_hiss.flac", ("hiss", "crackle"), "surface hiss and crackle of a playing vinyl record"),
    StarterNoise("ambi_sauna.flac", ("ambience", "hiss"), "sauna ambience: a steady hiss of steam over a low rumble"),
    StarterNoise("loop_3d_printer.flac", ("machine noise",), "a 3D printer at work: motor whine and mechanical rattle"),
    StarterNoise("loop_electric.flac", ("electrical buzz",), "a crackling electrical buzz"),
    StarterNoise("ambi_haunted_hum.flac", ("hum",), "a low, eerie hum that swells and fades"),
    StarterNoise("ambi_drone.flac", ("drone",), "a steady tonal drone"),
)


def starter_noise_sources() -> list[NoiseSource]:
    """The candidates of the starter noise bank; FileNotFoundError when the Debian package is missing."""
    missing = [n.file for n in STARTER_NOISE if not (SONIC_PI_SAMPLES / n.file).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{SONIC_PI_SAMPLES}: {', '.join(missing)} not found; the starter noise bank needs the Debian package "
            "'sonic-pi-samples' - run `bash .ci/setup`"
        )
    out = []
    for n in STARTER_NOISE:
        stem = Path(n.file).stem
        stanza = licence_for("sonic-pi-samples", f"etc/samples/{n.file}")
        holder = f"{stanza.copyright} {stanza.source}".strip() if stanza else ""
        out.append(
            NoiseSource(
                key=f"sonic-pi:{n.file}",
                path=str(SONIC_PI_SAMPLES / n.file),
                rel_path=f"audio/{stem}",
                labels=list(n.labels),
                caption=n.caption,
                license=stanza.license if stanza else "unknown",
                attribution=f"{holder} (Debian sonic-pi-samples)".strip(),
                split_group=f"sonic-pi:{stem}",
                extra={"package": "sonic-pi-samples"},
            )
        )
    return out


def build_starter_noise_bank(
    out: str | Path, sample_rate: int = 32000, seed: int = 0, progress: bool = True, workers: int | None = None
) -> BuildResult:
    """Build (or rebuild) the starter noise bank at ``out``; the same inputs and seed give the same bytes."""
    builder = NoiseBankBuilder(
        out,
        "starter-noise",
        NoiseSettings(sample_rate=sample_rate, seed=seed),
        description="foabench starter noise bank: hiss, ambience, machine noise, buzz, hum and drone "
        "(sonic-pi-samples) encoded as diffuse AmbiX fields",
    )
    for source in starter_noise_sources():
        builder.add(source)
    return builder.build(workers=workers, progress=progress)
