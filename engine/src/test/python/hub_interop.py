"""Checks that a Hugging Face cache written by `stitch pull` is the cache huggingface_hub writes and reads.

Run by HubInteropTest (when STITCH_HUB_PYTHON names a Python with `pip install torch==1.13.1 diffusers==0.25.1
huggingface_hub==0.20.3 safetensors`), with HF_ENDPOINT pointing at the test's loopback Hub:

    hub_interop.py ENDPOINT STITCH_CACHE FRESH_CACHE REPO

1. huggingface_hub finds Stitch's snapshot offline (local_files_only) and scan_cache_dir reports no problem;
2. diffusers loads the UNet from it offline;
3. huggingface_hub's own snapshot_download of the same files from the same server into FRESH_CACHE makes the same
   snapshot links (blob names) and the same refs/main.
Exits 1 on any difference.
"""
import os
import sys

endpoint, cache_a, cache_b, repo = sys.argv[1:5]
assert os.environ.get("HF_ENDPOINT") == endpoint, "HF_ENDPOINT must be set before huggingface_hub is imported"

from huggingface_hub import scan_cache_dir, snapshot_download

a = snapshot_download(repo, cache_dir=cache_a, local_files_only=True)
report = scan_cache_dir(cache_a)
print("scan:", [(r.repo_id, sorted(ref for rev in r.revisions for ref in rev.refs)) for r in report.repos], "warnings:", report.warnings)
if report.warnings:
    sys.exit(1)

import safetensors.torch  # noqa: F401  (diffusers reads safetensors through it)
from diffusers import UNet2DConditionModel

unet = UNet2DConditionModel.from_pretrained(repo, subfolder="unet", cache_dir=cache_a, local_files_only=True)
print("diffusers loaded the UNet:", sum(p.numel() for p in unet.parameters()), "parameters")

files = sorted(os.path.relpath(os.path.join(d, f), a) for d, _, fs in os.walk(a) for f in fs)
b = snapshot_download(repo, cache_dir=cache_b, allow_patterns=files)


def links(snapshot):
    return {os.path.relpath(os.path.join(d, f), snapshot): os.readlink(os.path.join(d, f))
            for d, _, fs in os.walk(snapshot) for f in fs}


def ref(cache):
    with open(os.path.join(cache, "models--" + repo.replace("/", "--"), "refs", "main")) as f:
        return f.read()


la, lb = links(a), links(b)
for k in sorted(set(la) | set(lb)):
    if la.get(k) != lb.get(k):
        print("differs:", k, la.get(k), lb.get(k))
print("same snapshot links:", la == lb, len(la), "files; same refs/main:", ref(cache_a) == ref(cache_b))
sys.exit(0 if la == lb and ref(cache_a) == ref(cache_b) else 1)
