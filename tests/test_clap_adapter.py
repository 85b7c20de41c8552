"""The laion-clap adapter, exercised with a small random stand-in model (laion_clap itself is not installed)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import signal
from torch import nn
from torch.nn import functional as F

from foabench.synth.queries import clap
from foabench.synth.queries.base import QueryEncoder
from foabench.synth.queries.clap import ClapCheckpointError, ClapEncoder, detect_variant, load_clap, read_clap_state
from foabench.synth.resample import resample

SR = 48_000
CLIP = 480_000
# patch-embedding width and stage-3 depth of the HTS-AT variants, as in laion_clap's create_htsat_model
SHAPES = {"HTSAT-tiny": (96, 6), "HTSAT-base": (128, 12)}


class _Stage(nn.Module):
    def __init__(self, width: int, depth: int):
        super().__init__()
        self.blocks = nn.ModuleList(nn.LayerNorm(width) for _ in range(depth))


class _PatchEmbed(nn.Module):
    def __init__(self, width: int, fusion: bool):
        super().__init__()
        self.proj = nn.Conv2d(1, width, 4, stride=4)
        if fusion:  # the key pattern of laion-clap's 2-D AFF fusion
            self.mel_conv2d = nn.Conv2d(1, width, (4, 12), stride=(4, 12))
            self.fusion_model = nn.Module()
            self.fusion_model.local_att = nn.Sequential(nn.Conv2d(width, width // 4, 1))


class _AudioBranch(nn.Module):
    """Random filterbank -> level-normalised log power -> HTS-AT-shaped patch embedding -> 8 time bins."""

    def __init__(self, width: int, depth: int, fusion: bool):
        super().__init__()
        self.filterbank = nn.Conv1d(1, 16, 512, stride=256, bias=False)
        self.patch_embed = _PatchEmbed(width, fusion)
        self.head = nn.Linear(width * 8, width)
        self.layers = nn.ModuleList([_Stage(width, 2), _Stage(width, 2), _Stage(width, depth), _Stage(width, 2)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spec = torch.log(self.filterbank(x[:, None]) ** 2 + 1e-6)
        spec = spec - spec.mean(dim=(1, 2), keepdim=True)
        patches = F.adaptive_avg_pool2d(self.patch_embed.proj(spec[:, None]), (1, 8))
        return self.layers[2].blocks[0](self.head(patches.flatten(1)))


class TinyClap(nn.Module):
    """Stands in for laion-clap: same two embedding methods, checkpoint keys shaped like HTS-AT's."""

    def __init__(self, amodel: str = "HTSAT-tiny", enable_fusion: bool = False):
        super().__init__()
        width, depth = SHAPES[amodel]
        self.audio_branch = _AudioBranch(width, depth, enable_fusion)
        self.audio_projection = nn.Linear(width, 512)
        self.text_branch = nn.EmbeddingBag(997, 64, mode="mean")
        self.text_projection = nn.Linear(64, 512)
        self.seen_audio: list[np.ndarray] = []

    def get_audio_embedding_from_data(self, x: np.ndarray, use_tensor: bool = False) -> np.ndarray:
        assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.shape[1:] == (CLIP,)
        self.seen_audio.append(x.copy())
        e = self.audio_projection(self.audio_branch(torch.from_numpy(x)))
        return F.normalize(e, dim=-1).detach().numpy()

    def get_text_embedding(self, x: list[str], tokenizer=None, use_tensor: bool = False) -> torch.Tensor:
        ids = [[ord(c) % 997 for c in t] or [0] for t in x]
        offsets = torch.tensor([0, *np.cumsum([len(i) for i in ids])[:-1].tolist()])
        flat = torch.tensor([c for i in ids for c in i])
        return F.normalize(self.text_projection(self.text_branch(flat, offsets)), dim=-1)


class Opaque:
    """Not loadable by torch.load(weights_only=True)."""


def tiny_model(amodel: str = "HTSAT-tiny", fusion: bool = False, seed: int = 0) -> TinyClap:
    torch.manual_seed(seed)
    return TinyClap(amodel, fusion).eval()


def save_checkpoint(model: nn.Module, path: Path, **extra) -> Path:
    """A checkpoint in laion-clap's training layout (DataParallel ``module.`` prefixes, optimizer state...)."""
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    state["module.text_branch.embeddings.position_ids"] = torch.arange(77)[None]
    torch.save({"epoch": 3, "name": "tiny", "state_dict": state, "optimizer": {"lr": 1e-4}, **extra}, path)
    return path


def tone_noise(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """A non-stationary test clip: a 200 Hz -> 4 kHz chirp and a pulsing tone over noise low-passed at 5 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr)) / sr
    x = signal.chirp(t, 200, t[-1], 4000, method="logarithmic", phi=rng.uniform(0, 360))
    x = x + np.sin(2 * np.pi * rng.uniform(500, 2000) * t) * (np.sin(2 * np.pi * rng.uniform(0.2, 1) * t) > 0)
    x = x + 0.3 * signal.sosfiltfilt(signal.butter(8, 5000, fs=sr, output="sos"), rng.standard_normal(len(t)))
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a.ravel(), b.ravel()) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture
def encoder() -> ClapEncoder:
    return ClapEncoder(tiny_model(), ckpt_sha256="0" * 64)


# --- checkpoint reading and variant detection ---------------------------------------------------------------


def test_read_clap_state_strips_prefix_and_unwraps(tmp_path):
    model = tiny_model()
    state = read_clap_state(save_checkpoint(model, tmp_path / "ckpt.pt"))
    assert not any(k.startswith("module.") for k in state)
    assert set(state) == {*model.state_dict(), "text_branch.embeddings.position_ids"}
    torch.save(model.state_dict(), tmp_path / "bare.pt")  # a bare, unprefixed state dict is accepted as is
    assert set(read_clap_state(tmp_path / "bare.pt")) == set(model.state_dict())


def test_read_clap_state_refuses_pickled_objects_unless_trusted(tmp_path):
    path = save_checkpoint(tiny_model(), tmp_path / "ckpt.pt", args=Opaque())
    with pytest.raises(ClapCheckpointError, match="trust_pickle"):
        read_clap_state(path)
    assert "audio_projection.weight" in read_clap_state(path, trust_pickle=True)


def test_read_clap_state_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.pt"):
        read_clap_state(tmp_path / "nope.pt")


@pytest.mark.parametrize("amodel", ["HTSAT-tiny", "HTSAT-base"])
@pytest.mark.parametrize("fusion", [False, True])
def test_detect_variant(tmp_path, amodel, fusion):
    path = save_checkpoint(tiny_model(amodel, fusion), tmp_path / "ckpt.pt")
    assert detect_variant(read_clap_state(path)) == (amodel, fusion)


def test_detect_variant_tiny_with_wide_stft_window():
    state = dict(tiny_model().state_dict())
    state[clap.STFT_KEY] = torch.zeros(769, 1, 1536)
    assert detect_variant(state) == ("HTSAT-tiny-win-1536", False)
    state[clap.STFT_KEY] = torch.zeros(513, 1, 1024)
    assert detect_variant(state) == ("HTSAT-tiny", False)


def test_detect_variant_rejects_unrecognised():
    with pytest.raises(ClapCheckpointError, match="not a recognised"):  # e.g. a PANN audio branch
        detect_variant({"audio_branch.conv_block1.conv1.weight": torch.zeros(64, 1, 3, 3)})
    state = dict(tiny_model().state_dict())
    with pytest.raises(ClapCheckpointError, match="width 64"):
        detect_variant({**state, clap.PATCH_KEY: torch.zeros(64, 1, 4, 4)})
    with pytest.raises(ClapCheckpointError, match="stage 3 has 6 blocks"):
        detect_variant({**state, clap.PATCH_KEY: torch.zeros(128, 1, 4, 4)})
    one_d = {
        "audio_branch.mel_conv1d.0.weight": torch.zeros(64, 64, 5),
        "audio_branch.fusion_model.local_att.0.weight": torch.zeros(16, 64, 1),
    }
    with pytest.raises(ClapCheckpointError, match="aff_2d"):  # a 1-D fusion model
        detect_variant({**state, **one_d})
    iaff = dict(tiny_model(fusion=True).state_dict())
    iaff["audio_branch.patch_embed.fusion_model.local_att2.0.weight"] = torch.zeros(24, 96, 1, 1)
    with pytest.raises(ClapCheckpointError, match="aff_2d"):  # 2-D iAFF fusion
        detect_variant(iaff)


# --- the encoder ------------------------------------------------------------------------------------------


def test_encoder_interface_and_shapes(encoder):
    assert isinstance(encoder, QueryEncoder)
    assert encoder.name == "laion-clap-htsat-tiny" and encoder.dim == 512
    audio = encoder.embed_audio([tone_noise(2.0, SR), tone_noise(12.0, SR, seed=1), tone_noise(0.3, SR, 2)], SR)
    text = encoder.embed_text(["a dog barks", "rain on a tin roof"])
    for e, n in ((audio, 3), (text, 2)):
        assert e.dtype == np.float32 and e.shape == (n, 512)
        np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)
    assert encoder.embed_audio([], SR).shape == (0, 512)
    assert encoder.embed_text([]).shape == (0, 512)
    np.testing.assert_allclose(encoder.embed_text("a dog barks"), text[:1], atol=1e-6)


def test_batching_does_not_change_embeddings():
    waves = [tone_noise(s, SR, seed=i) for i, s in enumerate((1.0, 3.0, 11.0))]
    one = ClapEncoder(tiny_model(), ckpt_sha256="x", batch_size=1).embed_audio(waves, SR)
    three = ClapEncoder(tiny_model(), ckpt_sha256="x", batch_size=3).embed_audio(waves, SR)
    np.testing.assert_allclose(one, three, atol=1e-6)


def test_long_clip_is_cut_to_its_centre_deterministically(encoder):
    wave = tone_noise(25.0, SR, seed=3)
    first = encoder.embed_audio([wave], SR)
    np.testing.assert_array_equal(encoder.embed_audio([wave], SR), first)
    start = (len(wave) - CLIP) // 2
    np.testing.assert_allclose(encoder.embed_audio([wave[start : start + CLIP]], SR), first, atol=1e-6)
    assert cos(encoder.embed_audio([wave[:CLIP]], SR), first) < 0.99  # the crop position matters


def test_long_clip_mean_averages_evenly_spaced_windows():
    model = tiny_model()
    enc = ClapEncoder(model, ckpt_sha256="x", long_clip="mean")
    wave = tone_noise(25.0, SR, seed=4)
    got = enc.embed_audio([wave], SR)
    starts = [0, (len(wave) - CLIP) // 2, len(wave) - CLIP]  # ceil(25 / 10) = 3 windows, first and last flush
    windows = enc.embed_audio([wave[s : s + CLIP] for s in starts], SR)
    want = windows.mean(axis=0)
    np.testing.assert_allclose(got[0], want / np.linalg.norm(want), atol=1e-6)
    short = tone_noise(4.0, SR, seed=5)  # clips up to 10 s are unaffected by the long-clip mode
    np.testing.assert_array_equal(
        enc.embed_audio([short], SR), ClapEncoder(model, ckpt_sha256="x").embed_audio([short], SR)
    )


def test_input_is_resampled_to_48k(encoder):
    wave16 = tone_noise(4.0, 16_000, seed=6)
    at16 = encoder.embed_audio([wave16], 16_000)
    independent = signal.resample_poly(wave16, 3, 1).astype(np.float32)  # not soxr: an independent resampler
    assert cos(at16, encoder.embed_audio([independent], SR)) > 0.999
    np.testing.assert_array_equal(at16, encoder.embed_audio([resample(wave16, 16_000, SR)], SR))
    assert cos(at16, encoder.embed_audio([wave16], SR)) < 0.95  # treating it as 48 kHz would differ


def test_short_clips_are_repeated_whole_then_zero_padded():
    model = tiny_model()
    wave = tone_noise(3.0, SR, seed=7)
    ClapEncoder(model, ckpt_sha256="x").embed_audio([wave], SR)
    seen = model.seen_audio[-1][0]
    q = clap.quantise_int16(wave)
    np.testing.assert_array_equal(seen[: 3 * len(wave)], np.tile(q, 3))  # 480000 // 144000 = 3 whole copies
    assert not seen[3 * len(wave) :].any()
    ClapEncoder(model, ckpt_sha256="x", short_clip="tile").embed_audio([wave], SR)
    np.testing.assert_array_equal(model.seen_audio[-1][0], np.tile(q, 4)[:CLIP])


def test_model_receives_int16_quantised_audio():
    model = tiny_model()
    wave = tone_noise(10.0, SR, seed=8) * 3.0  # peaks beyond +-1 are clipped
    ClapEncoder(model, ckpt_sha256="x").embed_audio([wave], SR)
    seen = model.seen_audio[-1].astype(np.float64)
    codes = seen * 32767.0
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-3)
    assert seen.max() == pytest.approx(1.0) and seen.min() == pytest.approx(-1.0)
    np.testing.assert_array_equal(codes.round()[0], np.trunc(np.clip(wave, -1, 1).astype(np.float32) * 32767.0))
    q = clap.quantise_int16(wave)
    np.testing.assert_array_equal(clap.quantise_int16(q), q)  # laion-clap's own repeat of the step is a no-op


def test_hash_covers_weights_variant_and_preprocessing():
    model = tiny_model()
    base = ClapEncoder(model, ckpt_sha256="a").hash
    assert base == ClapEncoder(model, ckpt_sha256="a").hash and len(base) == 64
    others = [
        ClapEncoder(model, ckpt_sha256="b"),
        ClapEncoder(model, ckpt_sha256="a", variant="HTSAT-base"),
        ClapEncoder(model, ckpt_sha256="a", fusion=True),
        ClapEncoder(model, ckpt_sha256="a", long_clip="mean"),
        ClapEncoder(model, ckpt_sha256="a", short_clip="tile"),
    ]
    assert len({base, *(e.hash for e in others)}) == 1 + len(others)


def test_encoder_rejects_bad_settings_and_outputs():
    with pytest.raises(ValueError, match="long_clip"):
        ClapEncoder(tiny_model(), ckpt_sha256="x", long_clip="random")
    with pytest.raises(ValueError, match="expected"):
        ClapEncoder(tiny_model(), ckpt_sha256="x", dim=256).embed_text(["x"])


# --- load_clap --------------------------------------------------------------------------------------------


def fake_laion_clap(built: list, error: Exception | None = None) -> types.ModuleType:
    """A stand-in ``laion_clap`` package whose CLAP_Module holds a (randomly initialised) TinyClap."""

    class CLAP_Module(nn.Module):  # laion_clap's name
        def __init__(self, enable_fusion=False, device=None, amodel="HTSAT-tiny", tmodel="roberta"):
            super().__init__()
            if error is not None:
                raise error
            built.append((amodel, enable_fusion, device))
            self.model = tiny_model(amodel, enable_fusion, seed=123)

        def get_audio_embedding_from_data(self, x, use_tensor=False):
            return self.model.get_audio_embedding_from_data(x, use_tensor)

        def get_text_embedding(self, x, tokenizer=None, use_tensor=False):
            return self.model.get_text_embedding(x, tokenizer, use_tensor)

    return types.SimpleNamespace(CLAP_Module=CLAP_Module)


def test_load_clap_without_laion_clap_says_how_to_install(tmp_path, monkeypatch):
    path = save_checkpoint(tiny_model(), tmp_path / "ckpt.pt")
    monkeypatch.setitem(sys.modules, "laion_clap", None)
    with pytest.raises(ImportError, match=r"foabench\[clap\]"):
        load_clap(path)


def test_load_clap_missing_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "laion_clap", None)  # reported before the missing package
    with pytest.raises(FileNotFoundError, match=r"missing-630k\.pt"):
        load_clap(tmp_path / "missing-630k.pt")


def test_load_clap_detects_variant_and_loads_weights(tmp_path, monkeypatch):
    saved = tiny_model("HTSAT-base", fusion=True)
    path = save_checkpoint(saved, tmp_path / "ckpt.pt")
    built: list = []
    monkeypatch.setitem(sys.modules, "laion_clap", fake_laion_clap(built))
    enc = load_clap(path)
    assert built == [("HTSAT-base", True, "cpu")]
    assert enc.name == "laion-clap-htsat-base-fusion" and enc.ckpt_sha256 == clap.sha256_file(path)
    reference = ClapEncoder(saved, ckpt_sha256="x")
    wave = tone_noise(5.0, 22_050, seed=9)
    np.testing.assert_allclose(enc.embed_audio([wave], 22_050), reference.embed_audio([wave], 22_050), atol=1e-6)
    np.testing.assert_allclose(enc.embed_text(["siren"]), reference.embed_text(["siren"]), atol=1e-6)


def test_load_clap_refuses_weights_of_another_variant(tmp_path, monkeypatch):
    path = save_checkpoint(tiny_model("HTSAT-tiny"), tmp_path / "ckpt.pt")
    monkeypatch.setitem(sys.modules, "laion_clap", fake_laion_clap([]))
    with pytest.raises(ClapCheckpointError, match="do not fit"):
        load_clap(path, variant="HTSAT-base")


def test_load_clap_offline_names_roberta_base(tmp_path, monkeypatch):
    path = save_checkpoint(tiny_model(), tmp_path / "ckpt.pt")
    offline = OSError("We couldn't connect to 'https://huggingface.co' to load the files")
    monkeypatch.setitem(sys.modules, "laion_clap", fake_laion_clap([], error=offline))
    with pytest.raises(RuntimeError, match=r"roberta-base.*Hugging Face cache") as info:
        load_clap(path)
    assert "HF_HUB_OFFLINE" in str(info.value) and isinstance(info.value.__cause__, OSError)
