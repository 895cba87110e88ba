/**
 * Kubernetes label keys and values, as the API server checks them (apimachinery's IsQualifiedName and
 * IsValidLabelValue): the fields that become node selectors or object labels are refused here, at their
 * line in the file, rather than by the API server at apply time. Pure.
 */

/** An optional DNS-subdomain prefix and "/", then a name of at most 63 characters. */
export const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** At most 63 characters: letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or empty). */
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;

export const LABEL_KEY_MSG =
  "not a Kubernetes label key: an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
export const LABEL_VALUE_MSG =
  "not a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
