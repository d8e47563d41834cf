"""Local JSON Schema registries: one per UCP version (both versions use the same $ids) plus the
negotiation extension's schemas. Every $ref resolves from files on disk; a remote fetch fails the
test. Request bodies are checked against the schemas as their `ucp_request` annotations say."""

import copy
import json
import os

import jsonschema

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _load_dir(root, store, alias_base=None):
    """Registers each schema under its $id. With `alias_base`, also under alias_base + its path
    below `root`: 2026-01-11's discovery/profile_schema.json writes its $refs relative to the
    files' layout ("../schemas/ucp.json") while its $id sits elsewhere, so those resolve to
    https://ucp.dev/schemas/schemas/ucp.json — the same local file, never a fetch."""
    for base, _, files in os.walk(root):
        for name in sorted(files):
            if not name.endswith(".json"):
                continue
            path = os.path.join(base, name)
            with open(path) as f:
                doc = json.load(f)
            if isinstance(doc, dict) and "$id" in doc:
                store[doc["$id"].rstrip("#")] = doc
                if alias_base:
                    store.setdefault(alias_base + os.path.relpath(path, root), doc)


def _no_fetch(uri):
    raise AssertionError(f"schema reference {uri} is not in the local registry (never fetched)")


def _apply_ucp_request(node, op):
    """Rewrites a schema document for the request of operation `op` (create|update|complete)."""
    if isinstance(node, list):
        for item in node:
            _apply_ucp_request(item, op)
        return
    if not isinstance(node, dict):
        return
    props = node.get("properties")
    if isinstance(props, dict):
        required = list(node.get("required", []))
        for name, prop in list(props.items()):
            if not isinstance(prop, dict) or "ucp_request" not in prop:
                continue
            rule = prop["ucp_request"]
            mode = rule if isinstance(rule, str) else rule.get(op)
            if mode == "omit":
                props[name] = False
                required = [r for r in required if r != name]
            elif mode == "optional":
                required = [r for r in required if r != name]
            elif mode == "required" and name not in required:
                required.append(name)
        if required or "required" in node:
            node["required"] = required
    for key, value in node.items():
        if key != "ucp_request":
            _apply_ucp_request(value, op)


class Registry:
    def __init__(self, ucp_source, extension_dir):
        self.store = {}
        if ucp_source:
            _load_dir(ucp_source, self.store, alias_base="https://ucp.dev/schemas/")
        _load_dir(extension_dir, self.store)
        self._requests = {}

    def check_schemas(self):
        """Every loaded document is itself a valid draft 2020-12 schema."""
        for uri, doc in self.store.items():
            if "openapi" not in doc:
                jsonschema.Draft202012Validator.check_schema(doc)
        return len(self.store)

    def _store_for(self, op):
        if op is None:
            return self.store
        if op not in self._requests:
            rewritten = copy.deepcopy(self.store)
            for doc in rewritten.values():
                _apply_ucp_request(doc, op)
            self._requests[op] = rewritten
        return self._requests[op]

    def errors(self, ref, instance, op=None):
        """Validation errors of `instance` against `ref` (absolute $id with fragment)."""
        schema = {"$schema": DRAFT, "$ref": ref}
        resolver = jsonschema.RefResolver(base_uri="", referrer=schema, store=self._store_for(op),
                                          handlers={"http": _no_fetch, "https": _no_fetch})
        validator = jsonschema.Draft202012Validator(
            schema, resolver=resolver, format_checker=jsonschema.FormatChecker())
        return [f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
                for e in validator.iter_errors(instance)]

    def check(self, ref, instance, op=None, what=""):
        errs = self.errors(ref, instance, op)
        if errs:
            raise AssertionError(f"{what} does not match {ref} ({op or 'response'}):\n  " +
                                 "\n  ".join(errs[:20]) + "\n" + json.dumps(instance)[:3000])
