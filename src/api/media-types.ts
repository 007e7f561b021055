/** The media types configuration uploads are sent as: YAML (Fides' files) or JSON. */
export const YAML_TYPES = ['application/x-yaml', 'application/yaml', 'text/yaml'] as const;

/** The content-type without its parameters, lower case ('' when absent). */
export const mediaTypeOf = (contentType: string | undefined) => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

/** application/json, or a JSON-based type (`application/…+json`). */
export const isJsonType = (essence: string) => /^application\/([a-z.-]+\+)?json$/.test(essence);

export const isYamlType = (essence: string) => (YAML_TYPES as readonly string[]).includes(essence);
