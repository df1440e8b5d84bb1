"""Pythia 8 settings per process name, and the truth objects each process labels its jets with.

Every process is a 2 -> 2 hard process generated in a window of PhaseSpace:pTHat around the
jet pT window, so that (almost) every event has a boosted object inside the window:
- gluon, quark, qcd: HardQCD dijets; the jets are matched to the hard-process outgoing partons
  (gluons only, light u/d/s quarks only, or any parton: the QCD background of top tagging).
- wqq: WeakDoubleBoson:ffbar2WW with both W decaying hadronically (two boosted W per event;
  the pTHat of a 2 -> 2 process with massive final states is the boson pT).
- zqq: WeakDoubleBoson:ffbar2gmZgmZ with WeakZ0:gmZmode = 2 (pure Z, no photon interference)
  and hadronic Z decays.
- tbqq: Top:gg2ttbar + Top:qqbar2ttbar with t -> b W and hadronic W (all-hadronic ttbar).
"""

from __future__ import annotations

from dataclasses import dataclass

from rootml.errors import ConfigError

# pTHat window relative to the jet pT window: the jet of a parton or boson usually carries a
# little less pT than the object (out-of-cone radiation), sometimes more (ISR, underlying event);
# 10% either side keeps the jet pT spectrum unbiased at the window edges without wasting events.
PTHAT_LOW = 0.9
PTHAT_HIGH = 1.1
# Pythia accepts Random:seed in [1, 900000000] (0 means "from the clock", which we never want).
PYTHIA_SEED_RANGE = 900_000_000

_HADRONIC = "1 2 3 4 5"  # decays into d, u, s, c, b quarks (and antiquarks)
LIGHT_QUARKS = frozenset({1, 2, 3})
ANY_PARTON = frozenset({1, 2, 3, 4, 5, 21})


@dataclass(frozen=True)
class ProcessSpec:
    """One generator process: its Pythia settings and the truth object that labels its jets."""

    name: str
    settings: tuple[str, ...]
    parton_ids: frozenset[int] = frozenset()  # |PDG id| of hard partons that label jets (QCD)
    resonance_id: int = 0  # |PDG id| of the boson or top that labels jets (0: partons instead)


PROCESSES: dict[str, ProcessSpec] = {
    "gluon": ProcessSpec(
        "gluon",
        ("HardQCD:gg2gg = on", "HardQCD:qg2qg = on", "HardQCD:qqbar2gg = on"),
        parton_ids=frozenset({21}),
    ),
    "quark": ProcessSpec(
        "quark",
        # HardQCD:nQuarkNew = 3 keeps the pair-produced flavours light; incoming sea c/b quarks
        # still scatter in qg2qg and qq2qq, and their jets are dropped by the truth matching
        ("HardQCD:qg2qg = on", "HardQCD:qq2qq = on", "HardQCD:qqbar2qqbarNew = on",
         "HardQCD:gg2qqbar = on", "HardQCD:nQuarkNew = 3"),
        parton_ids=LIGHT_QUARKS,
    ),
    "qcd": ProcessSpec("qcd", ("HardQCD:all = on",), parton_ids=ANY_PARTON),
    "wqq": ProcessSpec(
        "wqq",
        ("WeakDoubleBoson:ffbar2WW = on", "24:onMode = off", f"24:onIfAny = {_HADRONIC}"),
        resonance_id=24,
    ),
    "zqq": ProcessSpec(
        "zqq",
        ("WeakDoubleBoson:ffbar2gmZgmZ = on", "WeakZ0:gmZmode = 2", "23:onMode = off",
         f"23:onIfAny = {_HADRONIC}"),
        resonance_id=23,
    ),
    "tbqq": ProcessSpec(
        "tbqq",
        ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", "6:onMode = off", "6:onIfMatch = 5 24",
         "24:onMode = off", f"24:onIfAny = {_HADRONIC}"),
        resonance_id=6,
    ),
}


def process_spec(process: str) -> ProcessSpec:
    """The ProcessSpec of a process name; ConfigError naming `process` and the allowed values if unknown."""
    if process not in PROCESSES:
        raise ConfigError("process", f"unknown process '{process}'; allowed: {', '.join(PROCESSES)}")
    return PROCESSES[process]


def pythia_seed(seed: int) -> int:
    """Map any non-negative seed into Pythia's allowed Random:seed range [1, 900000000]."""
    return 1 + seed % PYTHIA_SEED_RANGE


def pythia_settings(spec: ProcessSpec, *, sqrt_s: float, pt_min: float, pt_max: float, seed: int) -> list[str]:
    """All Pythia settings for one process, pT window and seed (quiet: no banner, listings or counters)."""
    return [
        "Print:quiet = on",
        "Next:numberCount = 0",
        f"Beams:eCM = {sqrt_s:g}",
        *spec.settings,
        f"PhaseSpace:pTHatMin = {PTHAT_LOW * pt_min:g}",
        f"PhaseSpace:pTHatMax = {PTHAT_HIGH * pt_max:g}",
        "Random:setSeed = on",
        f"Random:seed = {pythia_seed(seed)}",
    ]
