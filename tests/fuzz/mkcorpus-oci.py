#!/usr/bin/env python3
"""Seeds of fuzz-oci: small image tars (oci-archive and docker-archive) whose
layers have whiteouts, an opaque directory, symlinks and a hard link.
Usage: mkcorpus-oci.py OUTDIR. Built with the image writers of tests/oci/oci.py."""
import os
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "oci"))
import oci  # noqa: E402


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    lower = [("usr/bin/x", "f", b"\x7fELF lower"), ("lib", "l", "usr/lib"),
             ("usr/lib/libc.so.6", "f", b"libc"), ("usr/lib/libz.so.1", "l", "libz.so.1.2"),
             ("usr/lib/libz.so.1.2", "f", b"libz"), ("opt/app/old", "f", b"old"),
             ("bin", "l", "/usr/bin")]
    upper = [("usr/bin/x", "f", b"\x7fELF upper"), ("usr/lib/.wh.libz.so.1.2", "f", b""),
             ("opt/app/.wh..wh..opq", "f", b""), ("opt/app/new", "f", b"new"),
             ("bin/sh", "l", "../../../x")]
    with tempfile.TemporaryDirectory() as tmp:
        layout = os.path.join(tmp, "layout")
        oci.oci_layout(layout, [oci.tar_bytes(lower, "gzip"), oci.tar_bytes(upper)])
        oci.tar_dir(layout, os.path.join(outdir, "seed-oci-archive.tar"))
        oci.docker_archive(os.path.join(outdir, "seed-docker-archive.tar"),
                           [oci.tar_bytes(lower), oci.tar_bytes(upper, "gzip")])
    # A hard link in a layer (tarfile writes LNKTYPE for the second name).
    with tempfile.TemporaryDirectory() as tmp:
        os.makedirs(os.path.join(tmp, "usr/bin"))
        with open(os.path.join(tmp, "usr/bin/x"), "wb") as f:
            f.write(b"\x7fELF hard")
        os.link(os.path.join(tmp, "usr/bin/x"), os.path.join(tmp, "usr/bin/y"))
        layer = os.path.join(tmp, "layer.tar")
        with tarfile.open(layer, "w") as tf:
            tf.add(os.path.join(tmp, "usr"), arcname="usr")
        with open(layer, "rb") as f:
            data = f.read()
        layout = os.path.join(tmp, "layout")
        oci.oci_layout(layout, [data])
        oci.tar_dir(layout, os.path.join(outdir, "seed-hardlink.tar"))


if __name__ == "__main__":
    main(sys.argv[1])
