"""Dataset registry, prepared cache, image reading edge cases, and downloads from a local HTTP server."""
from __future__ import annotations

import hashlib
import io
import json
import struct
import threading
import zipfile
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from repbench import data
from repbench.cli import main as cli_main
from repbench.errors import RepbenchError
from repbench.scoring.images import read_image, write_image
from repbench.scoring.imresize import imresize

# ----------------------------------------------------------------------------- helpers


def _png_bytes(arr: np.ndarray, mode: str | None = None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, format="PNG") if mode else Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _png16(arr: np.ndarray) -> bytes:
    """A 16-bit PNG written by hand (Pillow cannot write 16-bit RGB)."""
    h, w = arr.shape[:2]
    color_type = {2: 0, 3: 2}[arr.ndim]
    raw = b"".join(b"\x00" + arr[r].astype(">u2").tobytes() for r in range(h))

    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _hr_folder(folder: Path, n: int = 3) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    photo = skdata.astronaut()
    for i in range(n):
        write_image(folder / f"img{i}.png", photo[i * 40 : i * 40 + 61, 100:150])
    write_image(folder / "gray.png", skdata.camera()[:50, :70])
    return folder


# ----------------------------------------------------------------------------- images


def test_read_image_conversions(tmp_path):
    rgb = skdata.astronaut()[:20, :30]
    gray = skdata.camera()[:20, :30]

    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])
    (tmp_path / "rgba.png").write_bytes(_png_bytes(rgba))
    out = read_image(tmp_path / "rgba.png")
    assert out.shape == (20, 30, 3) and (out == rgb).all()  # alpha dropped, colours as stored

    (tmp_path / "la.png").write_bytes(_png_bytes(np.dstack([gray, gray]), "LA"))
    assert read_image(tmp_path / "la.png").shape == (20, 30, 1)

    (tmp_path / "gray.png").write_bytes(_png_bytes(gray))
    out = read_image(tmp_path / "gray.png")
    assert out.shape == (20, 30, 1) and (out[:, :, 0] == gray).all()  # gray stays single-channel

    wide = np.random.default_rng(0).integers(0, 65536, (5, 6, 3)).astype(np.uint16)
    (tmp_path / "rgb16.png").write_bytes(_png16(wide))
    (tmp_path / "gray16.png").write_bytes(_png16(wide[:, :, 0]))
    out = read_image(tmp_path / "rgb16.png")
    assert out.dtype == np.uint8 and (out == (wide >> 8)).all()  # high byte
    out = read_image(tmp_path / "gray16.png")
    assert out.shape == (5, 6, 1) and (out[:, :, 0] == (wide[:, :, 0] >> 8)).all()

    pal = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE)
    pal.save(tmp_path / "pal.png")
    assert read_image(tmp_path / "pal.png").shape == (20, 30, 3)


def test_read_image_errors_name_the_file(tmp_path):
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    with pytest.raises(RepbenchError, match="junk.png"):
        read_image(tmp_path / "junk.png")
    good = _png_bytes(skdata.astronaut()[:64, :64])
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(RepbenchError, match="cut.png"):
        read_image(tmp_path / "cut.png")
    with pytest.raises(RepbenchError, match="does not exist"):
        read_image(tmp_path / "missing.png")


def test_write_image_is_atomic_and_round_trips(tmp_path):
    img = skdata.astronaut()[:16, :16]
    write_image(tmp_path / "a.png", img)
    assert (read_image(tmp_path / "a.png") == img).all()
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temporary left behind
    with pytest.raises(RepbenchError, match="uint8"):
        write_image(tmp_path / "b.png", img.astype(np.float32))


# ----------------------------------------------------------------------------- registry


def test_registry_is_valid_and_embedded_splits_are_disjoint():
    registry, defaults = data.load_registry()
    for name in ("Set5", "Set14", "T91", "BSD200", "DIV2K-train", "DIV2K-valid", "skimage-train", "skimage-test"):
        assert name in registry
    assert registry["skimage-train"].role == "train" and registry["skimage-test"].role == "test"
    train = set(registry["skimage-train"].sources[0].images)
    test = set(registry["skimage-test"].sources[0].images)
    assert train and test and not train & test
    folder = data.embedded_folder()
    assert all((folder / f).is_file() for f in train | test)
    assert defaults["test"][-1] == "skimage-test" and defaults["train"][-1] == "skimage-train"
    for ds in registry.values():
        for src in ds.sources:
            if src.kind == "download":
                assert src.sha256 or src.md5
    assert data.get_dataset("set5").name == "Set5"  # case-insensitive
    with pytest.raises(RepbenchError, match="unknown dataset"):
        data.get_dataset("Set6")


def test_defaults_fall_back_to_embedded(tmp_path, monkeypatch, data_cache):
    monkeypatch.setenv("REPBENCH_SHARED_DATASETS", str(tmp_path / "nothing-here"))
    assert data.default_dataset("test") == "skimage-test"
    assert data.default_dataset("train") == "skimage-train"
    assert not data.available("Set5")  # not local, not downloaded: needs the network
    assert not data.available("T91")
    assert data.available("skimage-test")


def test_malformed_registry(tmp_path, monkeypatch):
    bad = tmp_path / "datasets.yaml"
    bad.write_text("datasets:\n  X:\n    role: validation\n    sources: [{kind: local, path: /x}]\n")
    monkeypatch.setenv("REPBENCH_DATASETS_YAML", str(bad))
    with pytest.raises(RepbenchError, match="role must be"):
        data.load_registry()
    bad.write_text("datasets:\n  X:\n    role: test\n    sources: [{kind: download, url: http://x/a.zip, archive: zip, members: '*'}]\n")
    with pytest.raises(RepbenchError, match="checksum"):
        data.load_registry()


# ----------------------------------------------------------------------------- prepare / load


def test_embedded_pairs_are_modcropped_matlab_bicubic(data_cache):
    pairs = data.load_pairs("skimage-test", 4)
    assert [p.name for p in pairs] == ["astronaut", "camera", "chelsea", "coffee"]
    for p in pairs:
        assert p.hr.dtype == np.uint8 and p.hr.shape[0] % 4 == 0 and p.hr.shape[1] % 4 == 0
        assert (p.lr == imresize(p.hr, 1 / 4)).all()
    assert pairs[1].hr.shape[2] == 1 and pairs[0].hr.shape[2] == 3  # camera is grayscale
    manifest = data_cache / "skimage-test" / "X4" / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    data.prepare("skimage-test", [4], progress=False)  # idempotent: nothing rebuilt
    assert manifest.stat().st_mtime_ns == stamp
    assert data.available("skimage-test")


def test_local_override_path_and_env(tmp_path, monkeypatch, data_cache):
    folder = _hr_folder(tmp_path / "mine")
    pairs = data.load_pairs("T91", 3, path=folder)
    assert [p.name for p in pairs] == ["gray", "img0", "img1", "img2"]
    assert pairs[0].hr.shape == (48, 69, 1) and pairs[0].lr.shape == (16, 23, 1)

    other = _hr_folder(tmp_path / "other", n=1)
    monkeypatch.setenv(data.override_env_var("BSD200"), str(other))
    assert data.override_env_var("DIV2K-train") == "REPBENCH_DATA_DIV2K_TRAIN"
    assert len(data.load_pairs("BSD200", 2)) == 2
    # A changed source folder invalidates the cache.
    write_image(other / "new.png", skdata.astronaut()[:40, :40])
    assert len(data.load_pairs("BSD200", 2)) == 3


def test_bad_local_inputs(tmp_path, monkeypatch, data_cache):
    monkeypatch.setenv("REPBENCH_SHARED_DATASETS", str(tmp_path / "none"))
    with pytest.raises(RepbenchError, match="REPBENCH_DATA_T91"):
        data.load_pairs("T91", 2)
    with pytest.raises(RepbenchError, match="does not exist"):
        data.pairs_from_folder(tmp_path / "missing", 2)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RepbenchError, match="holds no images"):
        data.pairs_from_folder(tmp_path / "empty", 2)
    small = _hr_folder(tmp_path / "small", n=1)
    write_image(small / "tiny.png", np.zeros((3, 2, 3), np.uint8))
    with pytest.raises(RepbenchError, match="tiny"):
        data.prepare("T91", [4], path=small, progress=False)
    (small / "tiny.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(RepbenchError, match="tiny.png"):
        data.pairs_from_folder(small, 2)
    with pytest.raises(RepbenchError, match="scale must be"):
        data.pairs_from_folder(small, 5)


def test_cli_data_prepare_takes_several_datasets(tmp_path, capsys, data_cache, monkeypatch):
    # What a cluster user runs on the login node: every set of a preset in one command.
    monkeypatch.setenv("REPBENCH_DATA_T91", str(_hr_folder(tmp_path / "t91", n=1)))
    monkeypatch.setenv("REPBENCH_DATA_BSD200", str(_hr_folder(tmp_path / "bsd", n=1)))
    assert cli_main(["data", "prepare", "T91", "BSD200", "--scales", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "T91 x4: 2 HR/LR pairs" in out and "BSD200 x4: 2 HR/LR pairs" in out
    # Every name is checked before any work; --path belongs to one dataset.
    assert cli_main(["data", "prepare", "skimage-test", "NoSuchSet", "--quiet"]) == 2
    assert "unknown dataset 'NoSuchSet'" in capsys.readouterr().err
    assert data.read_manifest("skimage-test", 4) is None
    assert cli_main(["data", "prepare", "T91", "BSD200", "--path", str(tmp_path / "t91"), "--quiet"]) == 2
    assert "name a single dataset" in capsys.readouterr().err


def test_cli_data_list_and_prepare(tmp_path, capsys, data_cache):
    folder = _hr_folder(tmp_path / "hr", n=1)
    assert cli_main(["data", "prepare", "T91", "--path", str(folder), "--scales", "2", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "x2: 2 HR/LR pairs" in out and "x4: 2 HR/LR pairs" in out
    assert cli_main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "skimage-test" in out and "x2,x4" in out
    assert cli_main(["data", "prepare", "NoSuchSet"]) == 2
    assert "unknown dataset" in capsys.readouterr().err


@pytest.mark.datasets
def test_registered_set14_points_at_shared_folder(shared_datasets, monkeypatch, data_cache):
    monkeypatch.setenv("REPBENCH_SHARED_DATASETS", str(shared_datasets))
    assert data.available("Set14")
    pairs = data.load_pairs("Set14", 4)
    assert len(pairs) == 14
    bridge = next(p for p in pairs if p.name == "bridge")
    assert bridge.hr.shape == (512, 512, 1)


# ----------------------------------------------------------------------------- downloads


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        srv = self.server
        body = srv.files.get(self.path)
        srv.requests.append((self.path, self.headers.get("Range")))
        if body is None:
            self.send_error(404)
            return
        start, status = 0, 200
        wanted = self.headers.get("Range")
        if wanted and srv.honour_range:
            start = int(wanted.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        payload = body[start:]
        self.send_response(status)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if srv.cut_after is not None:  # simulate a dropped connection mid-transfer
            self.wfile.write(payload[: srv.cut_after])
            self.wfile.flush()
            self.close_connection = True
            srv.cut_after = None
            return
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.files, server.requests, server.honour_range, server.cut_after = {}, [], True, None
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_verifies_and_resumes(tmp_path, http_server):
    server, base = http_server
    blob = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    digest = hashlib.sha256(blob).hexdigest()
    server.files["/f.bin"] = blob

    dest = tmp_path / "f.bin"
    (tmp_path / "f.bin.part").write_bytes(blob[:100_000])
    data.download(f"{base}/f.bin", dest, sha256=digest, progress=False)
    assert dest.read_bytes() == blob and not (tmp_path / "f.bin.part").exists()
    assert server.requests[-1] == ("/f.bin", "bytes=100000-")  # only the rest was fetched

    n = len(server.requests)
    data.download(f"{base}/f.bin", dest, sha256=digest, progress=False)  # already there: no request
    assert len(server.requests) == n

    # The whole file already sits in .part (killed before the rename): HTTP 416, then verified.
    dest3 = tmp_path / "h.bin"
    (tmp_path / "h.bin.part").write_bytes(blob)
    data.download(f"{base}/f.bin", dest3, sha256=digest, progress=False)
    assert dest3.read_bytes() == blob

    # A server that ignores Range: start over instead of appending a second copy.
    server.honour_range = False
    dest2 = tmp_path / "g.bin"
    (tmp_path / "g.bin.part").write_bytes(blob[:5000])
    data.download(f"{base}/f.bin", dest2, md5=hashlib.md5(blob).hexdigest(), progress=False)
    assert dest2.read_bytes() == blob


def test_download_interrupted_then_resumed(tmp_path, http_server):
    server, base = http_server
    blob = bytes(range(256)) * 1000
    server.files["/x.bin"] = blob
    server.cut_after = 70_000
    digest = hashlib.sha256(blob).hexdigest()
    with pytest.raises(RepbenchError, match="run the same command again to resume"):
        data.download(f"{base}/x.bin", tmp_path / "x.bin", sha256=digest, progress=False)
    assert (tmp_path / "x.bin.part").stat().st_size == 70_000
    data.download(f"{base}/x.bin", tmp_path / "x.bin", sha256=digest, progress=False)
    assert (tmp_path / "x.bin").read_bytes() == blob
    assert server.requests[-1][1] == "bytes=70000-"


def test_download_wrong_checksum_and_http_errors(tmp_path, http_server):
    server, base = http_server
    server.files["/y.bin"] = b"payload"
    with pytest.raises(RepbenchError, match="checksum mismatch"):
        data.download(f"{base}/y.bin", tmp_path / "y.bin", sha256="0" * 64, progress=False)
    assert not (tmp_path / "y.bin").exists() and not (tmp_path / "y.bin.part").exists()
    with pytest.raises(RepbenchError, match="HTTP 404"):
        data.download(f"{base}/nope.bin", tmp_path / "n.bin", sha256="0" * 64, progress=False)
    with pytest.raises(RepbenchError, match="without a checksum"):
        data.download(f"{base}/y.bin", tmp_path / "z.bin", progress=False)


def test_download_source_end_to_end(tmp_path, http_server, monkeypatch, capsys, data_cache):
    server, base = http_server
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("pkg/HR/a.png", _png_bytes(skdata.astronaut()[:48, :60]))
        zf.writestr("pkg/HR/b.png", _png_bytes(skdata.camera()[:36, :40]))
        zf.writestr("pkg/README.txt", "not an image")
    archive = buf.getvalue()
    server.files["/set.zip"] = archive
    registry = tmp_path / "datasets.yaml"
    entry = {
        "kind": "download", "url": f"{base}/set.zip", "sha256": hashlib.sha256(archive).hexdigest(),
        "size": len(archive), "archive": "zip", "members": "pkg/HR/*.png",
    }
    registry.write_text(json.dumps({"datasets": {"tiny": {"role": "test", "sources": [entry]}}}))
    monkeypatch.setenv("REPBENCH_DATASETS_YAML", str(registry))

    assert not data.available("tiny")
    pairs = data.load_pairs("tiny", 2)
    assert [p.name for p in pairs] == ["a", "b"] and pairs[1].hr.shape == (36, 40, 1)
    assert data.available("tiny")
    requests = len(server.requests)
    assert len(data.load_pairs("tiny", 4)) == 2  # archive reused, no second download
    assert len(server.requests) == requests

    entry["sha256"] = "f" * 64
    entry["url"] = f"{base}/set.zip?v=2"
    registry.write_text(json.dumps({"datasets": {"tiny2": {"role": "test", "sources": [entry]}}}))
    assert cli_main(["data", "prepare", "tiny2", "--quiet"]) == 2
    assert "sha256" in capsys.readouterr().err
