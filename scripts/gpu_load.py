"""Keep every part of GPU 0 busy for N seconds with a fixed 8 GiB allocation, so
that scripts/gpu-check.sh compares the two servers on non-zero, steady readings."""
import sys
import time

import torch

seconds = float(sys.argv[1])
held = torch.empty(8 << 30, dtype=torch.uint8, device="cuda")
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
end = time.time() + seconds
while time.time() < end:
    for _ in range(20):
        a @ a
    torch.cuda.synchronize()
