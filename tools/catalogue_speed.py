"""Per-face CPU inference cost (onnxruntime) of three models shaped like HSEmotion/EmotiEffLib's
multi-task (8 expressions + valence + arousal = 10 outputs) models:

    mbf_va_mtl         MobileFaceNet (Chen et al. 2018, 512-d embedding) + Linear 512->10, 112x112
    enet_b0_8_va_mtl   EfficientNet-B0 (timm `efficientnet_b0` layout) + Linear 1280->10, 224x224
    mobilevit_va_mtl   MobileViT-S (timm `mobilevit_s` layout) + Linear 640->10, 224x224

The weights are RANDOM (the real files cannot be downloaded here): the architectures, parameter
counts and operator graphs match, so the timings stand for the real models, not their outputs.
BatchNorm statistics are set by one training-mode pass over random images, so activations stay
in a normal range (no denormal or inf slow paths). The architectures are written in plain torch
because timm imports torchvision, which does not install beside the torch used here.

Each model is exported with torch.onnx (TorchScript exporter, opset 17, input `input` NCHW
float32, output `output` [N, 10], dynamic batch) into a temporary folder, then timed with
onnxruntime's CPUExecutionProvider at intra_op_num_threads 1 and 2, batch 1 and 3: 10 warm-up
runs, then `--runs` rounds that run the three models round-robin; the median run time / batch
is the time per face. Thread-pool spinning is off (see `session`). Prints a table and one JSON
line.

Needs, in a venv of its own (not the project's):

    python3 -m venv /tmp/speedvenv
    /tmp/speedvenv/bin/pip install torch==2.13.0 onnx onnxruntime==1.32.0 numpy
    /tmp/speedvenv/bin/python tools/catalogue_speed.py [--runs 150] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn


def cbn(i: int, o: int, k: int = 1, s: int = 1, g: int = 1, act: nn.Module | None = None,
        pad: int | None = None) -> nn.Sequential:
    """Conv (no bias) + BatchNorm + optional activation; 'same' padding (k // 2) unless `pad`."""
    return nn.Sequential(nn.Conv2d(i, o, k, s, k // 2 if pad is None else pad, groups=g, bias=False), nn.BatchNorm2d(o),
                         act if act is not None else nn.Identity())


# --- MobileFaceNet (Chen et al. 2018; layout of the InsightFace PyTorch ports) -------------------
class MbfBottleneck(nn.Module):
    def __init__(self, i: int, o: int, mid: int, s: int, residual: bool) -> None:
        super().__init__()
        self.body = nn.Sequential(cbn(i, mid, 1, act=nn.PReLU(mid)), cbn(mid, mid, 3, s, mid, act=nn.PReLU(mid)),
                                  cbn(mid, o, 1))
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


class MobileFaceNet(nn.Module):
    def __init__(self, embedding: int = 512, outputs: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = [cbn(3, 64, 3, 2, act=nn.PReLU(64)), cbn(64, 64, 3, 1, 64, act=nn.PReLU(64))]
        # (expansion t, channels c, repeats n, first stride s) as in the paper's Table 1
        for t, c, n, s, cin in ((2, 64, 5, 2, 64), (4, 128, 1, 2, 64), (2, 128, 6, 1, 128),
                                (4, 128, 1, 2, 128), (2, 128, 2, 1, 128)):
            for r in range(n):
                i = cin if r == 0 else c
                layers.append(MbfBottleneck(i, c, i * t, s if r == 0 else 1, r > 0 or (s == 1 and i == c)))
        layers += [cbn(128, 512, 1, act=nn.PReLU(512)), cbn(512, 512, 7, 1, 512, pad=0)]  # linear GDConv 7x7 -> 1x1
        self.features = nn.Sequential(*layers)
        self.embed = nn.Sequential(nn.Flatten(), nn.Linear(512 * 1 * 1, embedding, bias=False),
                                   nn.BatchNorm1d(embedding))
        self.classifier = nn.Linear(embedding, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(self.features(x)))


# --- EfficientNet-B0 (timm efficientnet_b0: SiLU, SE 0.25 of block input) ------------------------
class SqueezeExcite(nn.Module):
    def __init__(self, c: int, rd: int) -> None:
        super().__init__()
        self.reduce, self.act, self.expand = nn.Conv2d(c, rd, 1), nn.SiLU(), nn.Conv2d(rd, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.expand(self.act(self.reduce(x.mean((2, 3), keepdim=True)))))


class MBConv(nn.Module):
    def __init__(self, i: int, o: int, k: int, s: int, e: int) -> None:
        super().__init__()
        mid = i * e
        layers: list[nn.Module] = [] if e == 1 else [cbn(i, mid, 1, act=nn.SiLU())]
        layers += [cbn(mid, mid, k, s, mid, act=nn.SiLU()), SqueezeExcite(mid, max(1, int(i * 0.25))), cbn(mid, o, 1)]
        self.body, self.skip = nn.Sequential(*layers), s == 1 and i == o

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.skip else self.body(x)


class EfficientNetB0(nn.Module):
    def __init__(self, outputs: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = [cbn(3, 32, 3, 2, act=nn.SiLU())]
        cin = 32
        for e, k, s, c, n in ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                              (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)):
            for r in range(n):
                layers.append(MBConv(cin, c, k, s if r == 0 else 1, e))
                cin = c
        layers.append(cbn(320, 1280, 1, act=nn.SiLU()))
        self.features, self.classifier = nn.Sequential(*layers), nn.Linear(1280, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean((2, 3)))


# --- MobileViT-S (timm mobilevit_s: inverted residuals x4, transformer dims 144/192/240) --------
class InvertedResidual(nn.Module):
    def __init__(self, i: int, o: int, s: int, e: int = 4) -> None:
        super().__init__()
        mid = i * e
        self.body = nn.Sequential(cbn(i, mid, 1, act=nn.SiLU()), cbn(mid, mid, 3, s, mid, act=nn.SiLU()), cbn(mid, o, 1))
        self.skip = s == 1 and i == o

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.skip else self.body(x)


class TransformerBlock(nn.Module):
    def __init__(self, d: int, heads: int = 4, mlp_ratio: float = 2.0) -> None:
        super().__init__()
        self.heads, self.scale = heads, (d // heads) ** -0.5
        self.norm1, self.qkv, self.proj = nn.LayerNorm(d), nn.Linear(d, 3 * d), nn.Linear(d, d)
        hidden = int(d * mlp_ratio)
        self.norm2, self.mlp = nn.LayerNorm(d), nn.Sequential(nn.Linear(d, hidden), nn.SiLU(), nn.Linear(hidden, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, d = x.shape[1], x.shape[2]
        q, k, v = self.qkv(self.norm1(x)).reshape(-1, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        attn = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(-1, n, d))
        return x + self.mlp(self.norm2(x))


class MobileViTBlock(nn.Module):
    def __init__(self, c: int, d: int, depth: int, patch: int = 2) -> None:
        super().__init__()
        self.conv_kxk, self.conv_1x1 = cbn(c, c, 3, act=nn.SiLU()), nn.Conv2d(c, d, 1, bias=False)
        self.transformer = nn.Sequential(*[TransformerBlock(d) for _ in range(depth)])
        self.norm, self.patch, self.d = nn.LayerNorm(d), patch, d
        self.conv_proj, self.conv_fusion = cbn(d, c, 1, act=nn.SiLU()), cbn(2 * c, c, 3, act=nn.SiLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut, p, d = x, self.patch, self.d
        y = self.conv_1x1(self.conv_kxk(x))
        h, w = int(y.shape[2]), int(y.shape[3])
        nh, nw = math.ceil(h / p), math.ceil(w / p)
        if (nh * p, nw * p) != (h, w):  # as timm: resize to a multiple of the patch (7x7 -> 8x8 and back)
            y = F.interpolate(y, size=(nh * p, nw * p), mode="bilinear", align_corners=False)
        y = y.reshape(-1, d, nh, p, nw, p).permute(0, 3, 5, 2, 4, 1).reshape(-1, nh * nw, d)  # unfold
        y = self.norm(self.transformer(y))
        y = y.reshape(-1, p, p, nh, nw, d).permute(0, 5, 3, 1, 4, 2).reshape(-1, d, nh * p, nw * p)  # fold
        if (nh * p, nw * p) != (h, w):
            y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)
        return self.conv_fusion(torch.cat((shortcut, self.conv_proj(y)), dim=1))


class MobileViTS(nn.Module):
    def __init__(self, outputs: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            cbn(3, 16, 3, 2, act=nn.SiLU()), InvertedResidual(16, 32, 1),
            InvertedResidual(32, 64, 2), InvertedResidual(64, 64, 1), InvertedResidual(64, 64, 1),
            InvertedResidual(64, 96, 2), MobileViTBlock(96, 144, 2),
            InvertedResidual(96, 128, 2), MobileViTBlock(128, 192, 4),
            InvertedResidual(128, 160, 2), MobileViTBlock(160, 240, 3),
            cbn(160, 640, 1, act=nn.SiLU()))
        self.classifier = nn.Linear(640, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x).mean((2, 3)))


MODELS: dict[str, tuple[type[nn.Module], int]] = {
    "mbf_va_mtl": (MobileFaceNet, 112),
    "enet_b0_8_va_mtl": (EfficientNetB0, 224),
    "mobilevit_va_mtl": (MobileViTS, 224),
}


def build_and_export(name: str, folder: Path) -> tuple[Path, int]:
    """Random-weight model with calibrated BatchNorm, exported to ONNX; returns (path, params)."""
    cls, side = MODELS[name]
    torch.manual_seed(0)
    model = cls()
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # cumulative average: one pass sets the statistics
    with torch.no_grad():
        model.train()
        model(torch.randn(8, 3, side, side))
        model.eval()
    params = sum(p.numel() for p in model.parameters())
    path = folder / f"{name}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(1, 3, side, side),), str(path), dynamo=False, opset_version=17,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    return path, params


def session(path: Path, threads: int) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    # Idle workers of one session would otherwise spin and steal the 2 cores from the next model
    # in the round-robin; a single-session app with spinning is ~10-15% faster at 2 threads.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def time_round_robin(paths: dict[str, Path], threads: int, batch: int, runs: int,
                     warmup: int = 10) -> dict[str, float]:
    """Median ms per face of each model, the models run in turn so load hits them alike."""
    sessions = {n: session(p, threads) for n, p in paths.items()}
    rng = np.random.default_rng(0)
    feeds = {n: {"input": rng.random((batch, 3, MODELS[n][1], MODELS[n][1]), dtype=np.float32)} for n in paths}
    for n, s in sessions.items():
        for _ in range(warmup):
            s.run(None, feeds[n])
    times: dict[str, list[float]] = {n: [] for n in paths}
    for _ in range(runs):
        for n, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, feeds[n])
            times[n].append(time.perf_counter() - t0)
    return {n: 1000.0 * statistics.median(t) / batch for n, t in times.items()}


def check(path: Path, side: int) -> None:
    """Loads in onnxruntime, batch 1 and 3 give [N, 10] finite outputs."""
    s = session(path, 1)
    for b in (1, 3):
        out = s.run(None, {"input": np.random.default_rng(b).random((b, 3, side, side), dtype=np.float32)})[0]
        if out.shape != (b, 10) or not np.isfinite(out).all():
            raise RuntimeError(f"{path.name}: batch {b} gave shape {out.shape}, finite={np.isfinite(out).all()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=150, help="timed rounds per setting (at least 100)")
    parser.add_argument("--keep", type=Path, help="folder to keep the exported ONNX files in")
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        info: dict[str, dict[str, float]] = {}
        try:
            for name in MODELS:
                paths[name], params = build_and_export(name, folder)
                check(paths[name], MODELS[name][1])
                info[name] = {"params": params, "onnx_mb": round(paths[name].stat().st_size / 1e6, 2)}
        except Exception as exc:  # noqa: BLE001 - report, no traceback
            print(f"export/check failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        print(f"{'model':18} {'input':>7} {'params':>10} {'onnx MB':>8}")
        for name, i in info.items():
            side = MODELS[name][1]
            print(f"{name:18} {side:>3}x{side:<3} {int(i['params']):>10,} {i['onnx_mb']:>8.2f}")
        results: dict[str, dict[str, float]] = {}
        settings = [(t, b) for t in (1, 2) for b in (1, 3)]
        for threads, batch in settings:
            for name, ms in time_round_robin(paths, threads, batch, args.runs).items():
                results.setdefault(name, {})[f"t{threads}_b{batch}"] = round(ms, 3)
    print(f"\nms per face (median of {args.runs} runs, onnxruntime {ort.__version__} CPU, {platform.processor() or platform.machine()})")
    print(f"{'model':18} " + " ".join(f"{f'{t}thr b{b}':>10}" for t, b in settings))
    for name, row in results.items():
        print(f"{name:18} " + " ".join(f"{row[f't{t}_b{b}']:>10.2f}" for t, b in settings))
    print(json.dumps({"onnxruntime": ort.__version__, "torch": torch.__version__, "runs": args.runs,
                      "models": {n: {**info[n], "ms_per_face": results[n]} for n in MODELS}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
