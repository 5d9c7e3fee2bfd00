#!/usr/bin/env python3
"""Generates kubesim's OpenAPI schemas from the published Kubernetes 1.32 schema set that the
kubernetes-validate package bundles (the same definitions kube-apiserver publishes, in JSON Schema
form). Keeps the kinds kubesim serves and everything they reference, turns the JSON Schema forms back
into OpenAPI's ("type": ["string", "null"] -> "string", "#/$defs/" -> "#/components/schemas/"), and
writes them zlib-compressed and base64-encoded into Swift sources (a few files, each under 600 lines), so the kubesim binary carries them.
    python3 dev/gen-openapi.py   (after `pip install kubernetes-validate`; output is committed)
"""
import base64, json, os, sys, zlib
import kubernetes_validate

VERSION = "v1.32.0-local"
OUT_DIR = os.path.join(os.path.dirname(__file__), "..", "Sources", "KubeSim", "API")
# Base64 lines per generated file: each file stays well under the 600-line limit for sources.
LINES_PER_PART = 500

# The kinds kubesim serves (group, version, kind): must match ResourceType.served.
SERVED = [
    ("", "v1", "Namespace"), ("", "v1", "Pod"), ("", "v1", "Service"), ("", "v1", "ConfigMap"),
    ("", "v1", "Secret"), ("", "v1", "Event"), ("", "v1", "ServiceAccount"), ("", "v1", "Node"),
    ("", "v1", "PersistentVolumeClaim"), ("", "v1", "PersistentVolume"), ("", "v1", "Endpoints"),
    ("", "v1", "ComponentStatus"), ("", "v1", "ResourceQuota"), ("", "v1", "LimitRange"),
    ("apps", "v1", "Deployment"), ("apps", "v1", "ReplicaSet"), ("apps", "v1", "StatefulSet"),
    ("apps", "v1", "ControllerRevision"), ("apps", "v1", "DaemonSet"), ("", "v1", "ReplicationController"),
    ("batch", "v1", "Job"), ("batch", "v1", "CronJob"),
    ("autoscaling", "v2", "HorizontalPodAutoscaler"), ("autoscaling", "v1", "HorizontalPodAutoscaler"),
    ("autoscaling", "v1", "Scale"),
    ("networking.k8s.io", "v1", "Ingress"), ("networking.k8s.io", "v1", "NetworkPolicy"),
    ("policy", "v1", "PodDisruptionBudget"), ("discovery.k8s.io", "v1", "EndpointSlice"),
    ("authorization.k8s.io", "v1", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "v1", "SelfSubjectRulesReview"), ("authentication.k8s.io", "v1", "TokenRequest"),
    ("authentication.k8s.io", "v1", "SelfSubjectReview"),
]


def openapi(node):
    """JSON Schema 2020-12 (as kubernetes-validate writes it) back to OpenAPI v3.0 forms."""
    if isinstance(node, list):
        return [openapi(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, list):
            kinds = [kind for kind in value if kind != "null"]
            value = kinds[0] if len(kinds) == 1 else kinds
        elif key == "$ref":
            value = value.replace("#/$defs/", "#/components/schemas/")
        elif key == "enum" and node.get("type") and isinstance(node.get("type"), list):
            value = [item for item in value if item is not None]
        elif key == "properties":
            value = {name: openapi(schema) for name, schema in value.items()}
            result[key] = value
            continue
        result[key] = openapi(value)
    # apiVersion/kind enums are the generator's addition, not the API server's.
    return result


def main():
    base = os.path.join(os.path.dirname(kubernetes_validate.__file__), "kubernetes-json-schema", VERSION)
    definitions = json.load(open(os.path.join(base, "_definitions.json")))["$defs"]
    roots = []
    for group, version, kind in SERVED:
        found = [name for name, schema in definitions.items()
                 if {"group": group, "version": version, "kind": kind} in schema.get("x-kubernetes-group-version-kind", [])]
        if not found:
            sys.exit(f"no schema for {group}/{version} {kind}")
        roots.extend(found)
    # DeleteOptions, Status and the list kinds answer requests too.
    roots += ["io.k8s.apimachinery.pkg.apis.meta.v1.Status", "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"]
    keep, stack = set(), list(roots)
    while stack:
        name = stack.pop()
        if name in keep:
            continue
        keep.add(name)
        text = json.dumps(definitions[name])
        for part in text.split('"#/$defs/')[1:]:
            stack.append(part.split('"', 1)[0])
    schemas = {}
    for name in sorted(keep):
        schema = openapi(definitions[name])
        props = schema.get("properties", {})
        for field in ("apiVersion", "kind"):
            if field in props:
                props[field].pop("enum", None)
        schemas[name] = schema
    # The API server's own forms of the two scalar unions.
    schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"] = {
        "description": "IntOrString is a type that can hold an int32 or a string.", "format": "int-or-string",
        "type": "string"}
    if "io.k8s.apimachinery.pkg.api.resource.Quantity" in schemas:
        schemas["io.k8s.apimachinery.pkg.api.resource.Quantity"] = {
            "description": definitions["io.k8s.apimachinery.pkg.api.resource.Quantity"].get("description", ""),
            "oneOf": [{"type": "string"}, {"type": "number"}]}
    data = json.dumps(schemas, sort_keys=True, separators=(",", ":")).encode()
    packed = base64.b64encode(zlib.compress(data, 9)).decode()
    lines = [packed[i:i + 100] for i in range(0, len(packed), 100)]
    write_swift(lines, len(schemas), len(data))


def write_swift(lines, schema_count, size):
    """OpenAPISchemaData.swift names the parts; OpenAPISchemaData+PartN.swift each hold a slice of lines."""
    header = "// Generated by dev/gen-openapi.py from Kubernetes 1.32's published schemas: do not edit.\n"
    parts = [lines[i:i + LINES_PER_PART] for i in range(0, len(lines), LINES_PER_PART)]
    names = [f"part{n + 1}" for n in range(len(parts))]
    for old in os.listdir(OUT_DIR):
        if old.startswith("OpenAPISchemaData+Part") and old.endswith(".swift"):
            os.remove(os.path.join(OUT_DIR, old))
    with open(os.path.join(OUT_DIR, "OpenAPISchemaData.swift"), "w") as out:
        out.write(header)
        out.write(f"// {schema_count} schemas, {size} bytes of JSON, zlib-compressed and base64-encoded.\n")
        out.write("enum OpenAPISchemaData {\n")
        out.write(f"    static let uncompressedSize = {size}\n")
        out.write(f"    static let chunks: [String] = {' + '.join(names)}\n")
        out.write("}\n")
    for name, part in zip(names, parts):
        with open(os.path.join(OUT_DIR, f"OpenAPISchemaData+P{name[1:]}.swift"), "w") as out:
            out.write(header)
            out.write("extension OpenAPISchemaData {\n")
            out.write(f"    static let {name}: [String] = [\n")
            for line in part:
                out.write(f'        "{line}",\n')
            out.write("    ]\n}\n")
    print(f"{OUT_DIR}/OpenAPISchemaData*.swift: {schema_count} schemas, {size} bytes, {len(parts)} parts")

if __name__ == "__main__":
    main()
