"""Build-time smoke test (inside the chroot): `vllm serve MODEL` with the image's environment on a free
127.0.0.1 port; waits for /health, asks /v1/models and one chat completion, then stops the server.
Exits non-zero (with the server's last lines) when any step fails."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

model = sys.argv[1]
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
env = dict(os.environ)
env.update(
    VLLM_TARGET_DEVICE="cpu", VLLM_CPU_KVCACHE_SPACE="1", VLLM_CPU_CI_ENV="1", VLLM_NO_USAGE_STATS="1", DO_NOT_TRACK="1",
    HF_HUB_DISABLE_TELEMETRY="1", VLLM_ENABLE_V1_MULTIPROCESSING="0", OMP_NUM_THREADS="1", VLLM_CACHE_ROOT="/opt/vllm-cache",
    VLLM_HOST_IP="127.0.0.1", HF_HUB_OFFLINE="1",
)
log = open("/tmp/build/smoke.log", "w")
t0 = time.time()
p = subprocess.Popen(["/opt/vllm/bin/vllm", "serve", model, "--host", "127.0.0.1", "--port", str(port),
                      "--served-model-name", "tiny", "--max-model-len", "512"], env=env, stdout=log, stderr=subprocess.STDOUT)
base = f"http://127.0.0.1:{port}"


def get(path, body=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()


try:
    while True:
        if p.poll() is not None:
            raise SystemExit(f"vllm serve exited with {p.returncode}")
        if time.time() - t0 > 300:
            raise SystemExit("no /health 200 within 300 s")
        try:
            if get("/health")[0] == 200:
                break
        except OSError:
            pass
        time.sleep(0.5)
    print(f"smoke: /health 200 after {time.time() - t0:.1f} s", flush=True)
    print("smoke: /v1/models", get("/v1/models")[1][:120], flush=True)
    st, body = get("/v1/chat/completions", {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8})
    print("smoke: chat", st, json.loads(body)["usage"], flush=True)
except BaseException:
    log.flush()
    sys.stdout.write(open("/tmp/build/smoke.log").read()[-4000:])
    raise
finally:
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
