"""Print a wheel's Requires-Dist (no extras) as requirement lines, with local version pins (+cpu) of
torch, torchvision and torchaudio dropped to the public version PyPI serves. Run with the venv's python."""
import sys
import zipfile

from pip._vendor.packaging.requirements import Requirement

with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    lines = z.read(meta).decode().splitlines()
for line in lines:
    if not line.startswith("Requires-Dist:"):
        continue
    req = Requirement(line.split(":", 1)[1].strip())
    if req.marker is not None and not req.marker.evaluate({"extra": ""}):
        continue
    if req.name.lower() == "triton":
        continue
    spec = ",".join(str(s).split("+", 1)[0] for s in req.specifier)
    req.marker = None
    print(f"{req.name}{'[' + ','.join(sorted(req.extras)) + ']' if req.extras else ''}{spec}")
