/**
 * What each field of vllm-app.yaml means, for the JSON Schema editors show on hover (json-schema.ts
 * puts each on its property when the zod schema has no description of its own). Keyed by the field's
 * path as users read it, list items and alternatives left out: `secrets.env_var`, `runs.backend`.
 * test/unit/schema.test.ts fails for a field with no description anywhere: a new field needs a line here
 * (or a `doc()` in schema.ts).
 */
export const FIELD_DOCS: Readonly<Record<string, string>> = {
  name: "the app's name: names every object (Deployment, Service, …) and the Docker container; a DNS-1123 label",
  description: "free text, shown by `vllmapp status` (annotation vllmapp.dev/description)",
  type: 'always "vLLM" (Flyte\'s app type)',
  "model_path.run_output": "the output of an earlier run: a Kubernetes Job's annotation, or an MLflow run's artifact",
  "model_path.run_output.type": "what the output is: a directory (default), a file or a string",
  stream_model:
    "stream weights from the object store into vLLM (true, default), or copy them to the cache first (false)",
  image: 'the vLLM image; "auto" is vllmapp\'s default (vllmapp --version shows it); pin a tag or digest',
  port: "the port vLLM listens on in the container (and the Service's target port)",
  env_vars: "environment variables of the server: NAME: value (use secrets for anything secret)",
  secrets:
    'secrets the server reads: "HF_TOKEN" (key HF_TOKEN of Secret <app>-secrets) or {env_var, secret, key, mount}',
  "secrets.env_var": "the environment variable that receives the secret's value",
  "secrets.secret": "the Kubernetes Secret (default <app>-secrets)",
  "secrets.key": "the key in the Secret (default: env_var)",
  "secrets.mount": "mount the secret as files at this absolute path instead of (or besides) an environment variable",
  resources: "CPU, memory, GPUs, disk and /dev/shm of one replica; unset values are sized from the GPUs",
  scaling: "replicas: a fixed count, or [min, max] to autoscale on vLLM's metrics with KEDA",
  "scaling.metric":
    "what autoscaling targets: {concurrency: N} in-flight requests or {request_rate: N} requests/s per replica",
  requires_auth:
    "require an API key (default true): generated into Secret <app>-api-key and given to vLLM as VLLM_API_KEY",
  domain: "expose the app through an Ingress at a host name",
  "domain.subdomain": "host name under base_domain: <subdomain>.<base_domain>",
  "domain.custom_domain": "a full host name of its own",
  "domain.ingress_class": "the IngressClass that serves the Ingress (default: the cluster's default class)",
  "domain.tls_secret": "a TLS Secret for the host (HTTPS)",
  links: "links shown by `vllmapp status` (docs, dashboards)",
  "links.path": "the link: a path on the app's endpoint, or an absolute URL",
  "links.title": "the link's title",
  "links.is_relative": "true (default): path is relative to the app's endpoint",
  include: "files next to vllm-app.yaml to ship into the server at /app/include (chat templates, configs)",
  parameters: "named values ${name} in extra_args stands for; --param name=value overrides them",
  "parameters.name": "the parameter's name, as written in ${name}",
  "parameters.value": "the parameter's value",
  "parameters.env_var": "also set this environment variable to the value",
  cluster_pool:
    'the node pool: anything but "default" selects nodes labelled vllmapp.dev/pool=<pool> (see node_labels)',
  interruptible: "tolerate and prefer spot / preemptible nodes (true) or not (false, default)",
  pod_template:
    "the name of a PodTemplate to start from, or a pod (metadata, spec) merged into the one vllmapp renders",
  "pod_template.metadata": "labels and annotations merged into the pod's",
  "pod_template.spec": "pod spec fields merged into the pod's (containers by name; vLLM's container is vllm)",
  depends_on:
    "apps that must be ready first: names in this file, ./other.yaml (all its apps) or ./other.yaml#app; render turns them into Argo CD sync waves",
  on_startup: "a command run once in the image before the server starts (argv list)",
  on_shutdown: "a command run in the server's container before it stops (argv list)",
  namespace: "the Kubernetes namespace (default: --namespace, else the kubeconfig context's)",
  cache: "a PersistentVolumeClaim that keeps downloaded weights across restarts",
  "cache.size": "the volume's size (a Kubernetes quantity, default 100Gi)",
  "cache.storage_class": "the StorageClass (default: the cluster's default)",
  "cache.access_mode":
    "ReadWriteOnce (default), ReadWriteMany (replicas on several nodes share it) or ReadWriteOncePod",
  "runs.backend": "kubernetes (runs are Jobs) or mlflow (runs are MLflow runs)",
  "runs.namespace": "the namespace of the Jobs (default: the app's)",
  "runs.tracking_uri": "the MLflow tracking server",
  node_labels: "the node label keys vllmapp selects on, when the cluster's differ from GPU feature discovery's",
  "node_labels.gpu_product": "the label key with the GPU product (default nvidia.com/gpu.product)",
  "node_labels.pool": "the label key of cluster_pool (default vllmapp.dev/pool)",
  "node_labels.scheme.key": "the node label key that holds the GPU type",
  "node_labels.scheme.values": "each GPU type's value of that label: TYPE: value, or TYPE: [values]",
  "requires_auth.secret": "the Secret you manage that holds the API key",
  "requires_auth.key": "the key of that Secret (default VLLM_API_KEY)",
  "draft_model_path.run_output":
    "the output of an earlier run: a Kubernetes Job's annotation, or an MLflow run's artifact",
  "draft_model_path.run_output.type": "what the output is: a directory (default), a file or a string",
  "lora.adapters": "the LoRA adapters served next to the base model: [{name, source}]",
  "route.endpoint_picker":
    "the Gateway API Inference Extension's endpoint picker the InferencePool sends requests through",
  "route.endpoint_picker.port": "the endpoint picker's port (default 9002)",
};
