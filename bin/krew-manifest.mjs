// The krew plugin manifest for a build's archives (bin/build-binary.mjs writes it next to them): kubectl
// users install vllmapp as `kubectl vllmapp` with `kubectl krew install --manifest=vllmapp.krew.yaml`
// (add `--archive=<the .tar.gz>` for a local archive). The URIs are the release downloads README
// "Install" names; the checksums are the build's.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";

export const RELEASES = "https://github.com/ORG/vllmapp/releases/download";

export function sha256File(file) {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

const KREW_ARCH = { x64: "amd64", arm64: "arm64" };

/** `archives`: [{ target: "linux-x64", archive: path }]. */
export function krewManifest(version, archives) {
  const platforms = archives.map(({ target, archive }) => {
    const [os, arch] = target.split("-");
    return `  - selector:
      matchLabels:
        os: ${os}
        arch: ${KREW_ARCH[arch]}
    uri: ${RELEASES}/v${version}/${path.basename(archive)}
    sha256: ${sha256File(archive)}
    bin: vllmapp`;
  });
  return `apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: vllmapp
spec:
  version: v${version}
  homepage: https://github.com/ORG/vllmapp
  shortDescription: Deploy vLLM model servers from one vllm-app.yaml
  description: |
    Renders and deploys vLLM model servers (Deployment, Service, API key,
    autoscaling) from one vllm-app.yaml, waits until they serve, and shows
    their status and logs. As a kubectl plugin it takes kubectl's
    --context, -n/--namespace and --kubeconfig.
  caveats: |
    Get started in the folder of your vllm-app.yaml:
      kubectl vllmapp init
      kubectl vllmapp render --dry-run
      kubectl vllmapp deploy
  platforms:
${platforms.join("\n")}
`;
}
