"""The OpenAPI document: valid OpenAPI 3, and complete for every route the app serves.

The route walk reads app.url_map, so routes added later are checked without editing this file.
A view that needs no credentials is marked @blp.public; every other view documents 401.
"""

import json
import re

import pytest
from openapi_spec_validator import validate

from app.errors import ErrorSchema
from app.tenancy.enums import Dataset, Fidelity
from tests.factories import login, make_tenant

NOT_API = ("static", "api-docs.", "api-docs-assets.")
SUCCESS_WITHOUT_BODY = {"202", "204"}


@pytest.fixture(scope="module")
def spec(app):
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def api_operations(app):
    """(openapi path, method, path variables) for every API route of the app."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(NOT_API):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield path, method.lower(), sorted(rule.arguments)


def operation_ids(app):
    return [f"{method.upper()} {path}" for path, method, _ in api_operations(app)]


def resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = spec["components"][section][name]
    return node


def test_the_document_is_valid_openapi_3(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")


def test_the_docs_ui_answers_and_loads_only_assets_the_app_serves(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html  # nothing from a CDN: works offline
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200 and len(response.data) > 1000, asset


def test_ship_to_is_the_address_schema_or_null_and_nothing_else(spec):
    schemas = spec["components"]["schemas"]
    # Requests take the address (all required); responses show it masked by fidelity (ShipToOut).
    for name, address in (("RetailOrderIn", "ShipTo"), ("CheckoutIn", "ShipTo"),
                          ("InStoreOrderIn", "ShipTo"), ("OrderOut", "ShipToOut")):
        ship_to = schemas[name]["properties"]["ship_to"]
        assert ship_to["allOf"] == [{"$ref": f"#/components/schemas/{address}"}], name
        assert ship_to["nullable"] is True and "anyOf" not in ship_to, name
    assert set(schemas["ShipTo"]["required"]) == {"name", "phone", "address"}
    assert set(schemas["ShipToOut"]["properties"]) == {"name", "phone", "address"}


def test_no_schema_is_a_bare_nullable_object_beside_a_reference(spec):
    text = json.dumps(spec)
    assert '{"type": "object", "nullable": true}' not in text


def test_formats_are_openapi_formats_uri_not_url(spec):
    formats = set(re.findall(r'"format": "([^"]+)"', json.dumps(spec)))
    assert "url" not in formats and "uri" in formats
    image = spec["components"]["schemas"]["SkuCreate"]["properties"]["image_url"]
    assert image["format"] == "uri"


def test_every_request_body_is_marked_required(spec):
    optional = [f"{method.upper()} {path}" for path, item in spec["paths"].items()
                for method, operation in item.items()
                if isinstance(operation, dict) and "requestBody" in operation
                and operation["requestBody"].get("required") is not True]
    assert optional == []


def test_the_sharing_policy_names_each_dataset_and_each_fidelity(spec):
    defaults = spec["components"]["schemas"]["Policy"]["properties"]["defaults"]
    assert set(defaults["properties"]) == {dataset.value for dataset in Dataset}
    assert defaults["additionalProperties"] is False
    for field in defaults["properties"].values():
        assert field["enum"] == [fidelity.value for fidelity in Fidelity]


def test_the_sharing_policy_refuses_a_key_the_document_does_not_name(client, session):
    net = make_tenant(session)
    response = client.put("/network/policy", headers=login(client, net, "brand"),
                          json={"defaults": {"orders": "full", "gossip": "full"}})
    assert response.status_code == 422 and "defaults" in response.get_json()["errors"]


def test_the_error_component_is_our_error_schema(spec):
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == set(ErrorSchema().fields) == {"code", "message", "errors",
                                                                       "permission"}
    assert set(error["required"]) == {"code", "message"}
    assert error["properties"]["code"]["example"] == "not_found"
    default = resolve(spec, {"$ref": "#/components/responses/DEFAULT_ERROR"})
    assert default["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_credentials_are_documented_as_bearer_tokens_or_api_keys(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"]["scheme"] == "bearer"
    assert schemes["apiKey"] == {**schemes["apiKey"], "in": "header", "name": "X-Api-Key"}
    assert {"bearer": []} in spec["security"] and {"apiKey": []} in spec["security"]


def test_the_walk_finds_the_routes_it_should(app):
    found = set(operation_ids(app))
    assert {"POST /auth/login", "GET /network/orgs/{org_id}", "GET /healthz"} <= found
    assert not any("openapi" in op or "/docs" in op or "static" in op for op in found)


def test_every_api_route_is_documented_with_summary_schemas_and_errors(app, spec):
    problems = []
    for path, method, variables in api_operations(app):
        problems += [f"{method.upper()} {path}: {p}" for p in check_operation(spec, path, method,
                                                                            variables)]
    assert not problems, "\n".join(problems)


def check_operation(spec: dict, path: str, method: str, variables: list[str]) -> list[str]:
    item = spec["paths"].get(path, {})
    operation = item.get(method)
    if operation is None:
        return ["missing from the OpenAPI document"]
    problems = []
    if not operation.get("summary"):
        problems.append("no summary (the view needs a docstring)")
    parameters = item.get("parameters", []) + operation.get("parameters", [])
    documented = {p["name"] for p in (resolve(spec, p) for p in parameters) if p["in"] == "path"}
    if missing := set(variables) - documented:
        problems.append(f"path parameters not documented: {sorted(missing)}")
    responses = operation.get("responses", {})
    successes = [status for status in responses if status.startswith("2")]
    if not successes:
        problems.append("no success response")
    for status in successes:
        if status not in SUCCESS_WITHOUT_BODY and not resolve(spec, responses[status]).get("content"):
            problems.append(f"{status} response has no schema")
    if method in ("put", "patch") and "requestBody" not in operation:
        problems.append("no request body schema")
    if "requestBody" in operation and not operation["requestBody"]["content"]:
        problems.append("request body without a schema")
    errors = [status for status in responses if status[0] in "45"]
    for status in errors:
        schema = resolve(spec, responses[status]).get("content", {}).get("application/json", {})
        if schema.get("schema") != {"$ref": "#/components/schemas/Error"}:
            problems.append(f"{status} is not documented with the Error schema")
    public = operation.get("security") == []
    takes_input = bool(variables or parameters or "requestBody" in operation)
    if not public and "401" not in responses:
        problems.append("needs credentials but does not document 401 (or mark the view @blp.public)")
    if (takes_input or not public) and not any(status.startswith("4") for status in errors):
        problems.append("documents no 4xx response")
    return problems


def test_sign_in_the_probes_and_webhooks_are_public_and_nothing_else_by_default(spec):
    public = {f"{method.upper()} {path}" for path, item in spec["paths"].items()
              for method, operation in item.items()
              if isinstance(operation, dict) and operation.get("security") == []}
    assert {"POST /auth/login", "POST /auth/consumer/login", "POST /auth/refresh",
            "POST /auth/logout", "GET /healthz", "GET /readyz", "POST /webhooks/stripe"} <= public
    assert "GET /network/orgs" not in public and "POST /auth/api-keys" not in public


def test_sign_in_fields_carry_examples(spec):
    login = spec["components"]["schemas"]["Login"]["properties"]
    assert all("example" in login[field] for field in ("tenant", "email", "password"))
