/** The Docker engine's side of a test: containers of an app by vllmapp's label, read and removed. */
import { execa } from "execa";

/** `docker ARGS`; its stdout (throws on a non-zero exit). testbed.ts's `docker` returns the whole Run instead. */
export async function dockerOut(...args: string[]): Promise<string> {
  return (await execa("docker", args)).stdout;
}

/** `docker inspect` of the containers that carry vllmapp.app=APP. */
export async function containersOf(app: string): Promise<any[]> {
  const ids = (await dockerOut("ps", "-aq", "--filter", `label=vllmapp.app=${app}`)).split("\n").filter(Boolean);
  return ids.length ? JSON.parse(await dockerOut("inspect", ...ids)) : [];
}

/** Remove every container of these apps, whatever state the test left them in. */
export async function removeApps(apps: readonly string[]): Promise<void> {
  for (const app of apps) {
    const ids = (await dockerOut("ps", "-aq", "--filter", `label=vllmapp.app=${app}`)).split("\n").filter(Boolean);
    if (ids.length) await dockerOut("rm", "-f", ...ids);
  }
}
