/**
 * The objects the read side gets back from the API server, typed with client-node's models (type-only
 * imports: nothing of client-node loads for them). The raw-JSON client (api.ts) hands objects over as
 * the server sent them, so a model's `Date` fields are the RFC 3339 strings of the wire: `Wire<T>` says
 * so, and `Named<T>` adds what every object read back has, a name.
 */
import type {
  CoreV1Event,
  V1Deployment,
  V1Ingress,
  V1Node,
  V1ObjectMeta,
  V1Pod,
  V1PodTemplateSpec,
  V1ReplicaSet,
  V1Service,
} from "@kubernetes/client-node";

/** A client-node model as JSON: its Date fields are strings. */
export type Wire<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Wire<U>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/** An object read back: the model as JSON, with its name (and kind and apiVersion, when listed, are optional). */
export type Named<T extends { metadata?: V1ObjectMeta }> = Omit<Wire<T>, "metadata"> & {
  metadata: Wire<V1ObjectMeta> & { name: string };
};

export type Pod = Named<V1Pod>;
export type Deployment = Named<V1Deployment>;
export type ReplicaSet = Named<V1ReplicaSet>;
export type Node = Named<V1Node>;
export type Service = Named<V1Service>;
export type Ingress = Named<V1Ingress>;
export type PodEvent = Wire<CoreV1Event>;
export type PodSpec = NonNullable<Wire<V1PodTemplateSpec>["spec"]>;
export type Container = PodSpec["containers"][number];
export type ContainerStatus = NonNullable<NonNullable<Pod["status"]>["containerStatuses"]>[number];

/**
 * A LeaderWorkerSet (leaderworkerset.x-k8s.io/v1, a custom resource client-node has no model for): the
 * fields vllmapp reads back.
 */
export interface LeaderWorkerSet {
  metadata: Wire<V1ObjectMeta> & { name: string };
  spec?: {
    replicas?: number;
    leaderWorkerTemplate?: {
      size?: number;
      leaderTemplate?: Wire<V1PodTemplateSpec>;
      workerTemplate?: Wire<V1PodTemplateSpec>;
    };
  };
  status?: { readyReplicas?: number; replicas?: number };
}
