/** What render takes and gives: its input, the rendered app, the Docker plan. Types only. */
import type { AppConfig } from "../config/schema.js";
import type { ModelSource } from "../models/source.js";
import type { Finding } from "../errors.js";

/** A Kubernetes object as vllmapp handles it: any kind, a name always set. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  [k: string]: unknown;
};

export interface Templates {
  deployment: K8sObject;
  service: K8sObject;
  apiKeySecret: K8sObject;
  cachePvc: K8sObject;
  scaledObject: K8sObject;
  ingress: K8sObject;
  includeConfigMap: K8sObject;
  modelDownload: Record<string, unknown>;
}

export interface IncludeFile {
  /** the path as written in vllm-app.yaml */
  path: string;
  /** absolute path on this machine (Docker bind mount) */
  hostPath: string;
  /** file name inside /app/include */
  name: string;
  content: string;
}

/** Where an app runs. */
export type TargetKind = "kubernetes" | "docker";

export interface RenderInput {
  app: AppConfig;
  source: ModelSource;
  /** the source as written, when `source` is the result of resolving a run output or registry URI */
  resolvedFrom?: string;
  templates: Templates;
  includes: IncludeFile[];
  /** --param overrides */
  params: ReadonlyMap<string, string>;
  target: TargetKind;
  namespace?: string;
  /** Docker only: the host's home (for the Hugging Face cache mount) */
  hostHome: string;
  /** Docker only: override of --gpus ("all", "0" for none, "0,1") */
  dockerGpus?: string;
  /** Docker only: the model_path is a folder on this host (bind-mounted read-only at the same path) */
  hostModelDir?: boolean;
  /** Docker only: the absolute adapter/draft paths that are folders on this host (bind-mounted the same way) */
  hostDirs?: readonly string[];
  /** what check/deploy read from each adapter's adapter_config.json: its rank */
  adapterRanks?: ReadonlyMap<string, number>;
  /** the draft model's source once resolved (a run output), when deploy/check resolved it */
  draftSource?: ModelSource;
  /** the Kubernetes minor to render for (render --kube-version, deploy: the server's); default the newest supported */
  kubeMinor?: number;
  /** the weights' size, when checking the source found it (sizes the ephemeral storage of an emptyDir cache) */
  modelBytes?: number;
}

export interface RenderedModel {
  kind: ModelSource["kind"];
  uri: string;
  servedAs: string;
  resolvedFrom?: string;
}

export interface RenderedApp {
  name: string;
  target: TargetKind;
  namespace?: string;
  model: RenderedModel;
  serve: { command: string[]; args: string[] };
  objects?: K8sObject[];
  docker?: DockerPlan;
  problems: Finding[];
}

export interface DockerPlan {
  /** `docker run -d …` */
  argv: string[];
  container: string;
  port: number;
  /** names passed with `-e NAME`: their values come from the docker process's environment */
  envFromHost: string[];
  /** hash of the rendered spec, also in the label vllmapp.hash */
  hash: string;
  /** one-off steps before `docker run`: model copy, on_startup */
  before: { what: string; argv: string[]; envFromHost: string[] }[];
  /** `docker exec` before `docker stop` */
  onShutdown?: string[];
  requiresApiKey: boolean;
  /** requires_auth names a Secret the user manages: the key comes from VLLM_API_KEY in the docker process's environment */
  apiKeyFromHost?: boolean;
  image: string;
  modelCacheDir?: string;
}
