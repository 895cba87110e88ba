/** Is a process with this pid running on this machine? One we may not signal (EPERM) is running. */
export function isRunning(pid: number): boolean {
  // 0 and negative pids would name process groups
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
