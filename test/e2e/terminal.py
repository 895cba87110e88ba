"""Run a command on a real pseudo-terminal, as a person at a keyboard would (used by init.test.ts).

usage: terminal.py CWD JSON_STEPS -- COMMAND...
steps: [[wait_for_text, keys_to_send], ...]; prints {"code": N, "output": "..."} when the command exits.
"""
import json, os, pty, select, sys, time

cwd, steps = sys.argv[1], json.loads(sys.argv[2])
cmd = sys.argv[sys.argv.index("--") + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.chdir(cwd)
    os.environ["COLUMNS"], os.environ["LINES"] = "100", "30"
    os.execvp(cmd[0], cmd)

out = b""
deadline = time.time() + 60

def read(timeout):
    global out
    r, _, _ = select.select([fd], [], [], timeout)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        out += data
    return True

for wait_for, keys in steps:
    while wait_for.encode() not in out and time.time() < deadline:
        if not read(0.1):
            break
    time.sleep(0.3)
    os.write(fd, keys.encode())
while time.time() < deadline and read(0.2):
    pass
if time.time() >= deadline:
    os.kill(pid, 9)  # a prompt still waiting: the test fails on the output, it never hangs
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({"code": code, "output": out.decode("utf-8", "replace")}))
