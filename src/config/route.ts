/**
 * `route:` (README "Routing: `route:`"): the app's Service attached to a Gateway API Gateway by an HTTPRoute, optionally
 * through an Inference Extension InferencePool. Pure: the schema only; render/route.ts builds the objects.
 */
import * as z from "zod/mini";
import { parseDuration } from "./units.js";

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Gateway API's Hostname: a DNS name, optionally with one leading "*." label; no IPs, no port. */
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const described = <T extends z.ZodMiniType>(schema: T, description: string): T =>
  schema.check(z.describe(description)) as T;

export const endpointPickerSchema = z.strictObject({
  service: described(
    z.string().check(z.regex(DNS1123_LABEL, "must be a Service name (a DNS-1123 label)")),
    "the endpoint picker's Service, in the app's namespace",
  ),
  port: z._default(z.int().check(z.minimum(1, "port must be 1–65535"), z.maximum(65535, "port must be 1–65535")), 9002),
  failure_mode: z._default(
    described(z.enum(["FailOpen", "FailClose"]), "what the gateway does when the endpoint picker does not answer"),
    "FailOpen",
  ),
});

export const routeSchema = z.strictObject({
  gateway: described(
    z.string().check(z.regex(DNS1123_SUBDOMAIN, "must be a Gateway name (a DNS-1123 subdomain)")),
    "the Gateway the route attaches to (parentRef)",
  ),
  namespace: z.optional(
    described(
      z.string().check(z.regex(DNS1123_LABEL, "must be a DNS-1123 label")),
      "the Gateway's namespace (default: the app's)",
    ),
  ),
  section: z.optional(
    described(
      z.string().check(z.regex(DNS1123_SUBDOMAIN, "must be a listener name (a DNS-1123 subdomain), e.g. https")),
      "the Gateway listener to attach to (parentRef.sectionName)",
    ),
  ),
  hostnames: z.optional(
    described(
      z.array(
        z
          .string()
          .check(
            z.regex(HOSTNAME, 'not a hostname; write e.g. "qwen.example.com" or "*.example.com" (no scheme, no port)'),
          ),
      ),
      "hosts the route answers for (default: all the listener accepts)",
    ),
  ),
  path: z._default(
    described(z.string().check(z.startsWith("/", "a path starts with /")), "path prefix routed to the app"),
    "/",
  ),
  timeout: z._default(
    described(
      z
        .union([z.number(), z.string()])
        .check(
          z.refine((v) => parseDuration(v) !== undefined, { message: 'not a duration; write e.g. 0 (none), "10m"' }),
        ),
      "request timeout at the gateway; 0 (the default) disables it so streamed responses are never cut",
    ),
    0,
  ),
  inference_pool: z._default(
    described(
      z.boolean(),
      "route through an Inference Extension InferencePool (an endpoint picker chooses the replica)",
    ),
    false,
  ),
  endpoint_picker: z.optional(endpointPickerSchema),
});

export type RouteConfig = z.output<typeof routeSchema>;
