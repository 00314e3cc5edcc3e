"""The OpenAPI 3.1 description of every /api/v1 endpoint, served at /api/v1/openapi.json.

A test validates real responses against these schemas and checks that every /api/v1 route is here,
so this document cannot drift from what the API does.
"""
from __future__ import annotations

from flask import jsonify

from training import __version__
from training.access import access
from training.api import bp


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_DATE_TIME = _nullable("string", format="date-time")


def _obj(properties: dict, required: list[str] | None = None, closed: bool = True) -> dict:
    schema = {"type": "object", "properties": properties,
              "required": list(properties) if required is None else required}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS = {
    "Error": _obj({"error": _obj({"code": {"type": "string"}, "message": {"type": "string"}})}),
    "TokenRequest": _obj({"email": {"type": "string", "format": "email"}, "password": {"type": "string"}}),
    "Token": _obj({"token": {"type": "string"}, "expires_at": DATE_TIME}),
    "Me": _obj({
        "id": {"type": "integer"}, "email": {"type": "string"}, "full_name": {"type": "string"},
        "unit": _nullable("string", description="Unit code"),
        "position": _nullable("string", description="Position code"),
        "roles": {"type": "array", "items": {"type": "string", "enum": ["learner", "trainer", "hr", "admin"]}},
        "competencies": {"type": "array", "items": _obj({
            "code": {"type": "string"}, "required": {"type": "boolean"},
            "state": {"type": "string", "enum": ["held", "expiring", "expired", "missing"]},
            "expires_at": NULLABLE_DATE_TIME})},
    }),
    "Quiz": _obj({
        "id": {"type": "integer"}, "title": {"type": "string"},
        "competency": _nullable("string", description="Competency code"),
        "opens_at": NULLABLE_DATE_TIME, "closes_at": NULLABLE_DATE_TIME,
        "time_limit_s": _nullable("integer"), "attempts_left": _nullable("integer", description="null: unlimited"),
    }),
    "Choice": _obj({"id": {"type": "string"}, "text": {"type": "string", "description": "Sanitised HTML"}}),
    "Question": _obj({
        "slot": {"type": "integer"}, "type": {"type": "string"},
        "text": {"type": "string", "description": "Sanitised HTML"},
        "options": {"type": "array", "items": _ref("Choice")},
        "items": {"type": "array", "items": _ref("Choice"), "description": "Matching questions: the left side"},
        "mark": {"type": "number"},
    }, required=["slot", "type", "text", "options", "mark"]),
    "Attempt": _obj({
        "attempt_id": {"type": "integer"}, "quiz_id": {"type": "integer"},
        "state": {"type": "string", "enum": ["in_progress", "finished"]},
        "number": {"type": "integer"}, "started_at": DATE_TIME, "deadline": NULLABLE_DATE_TIME,
        "questions": {"type": "array", "items": _ref("Question")},
        "answers": {"type": "object", "description": "Saved response by slot number",
                    "additionalProperties": _ref("Response")},
        "saved_at": {"type": "object", "additionalProperties": DATE_TIME},
        "score": _nullable("number"), "max_score": _nullable("number"), "passed": _nullable("boolean"),
    }, required=["attempt_id", "quiz_id", "state", "number", "started_at", "deadline", "questions", "answers",
                 "saved_at"]),
    "Response": {
        "description": "Single choice and true/false: an option id; multiple choice: option ids; short answer "
                       "and numerical: a string; matching: item id → option id.",
        "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}},
                  {"type": "object", "additionalProperties": {"type": "string"}}],
    },
    "AnswerRequest": _obj({"response": _ref("Response")}),
    "AnswerSaved": _obj({"slot": {"type": "integer"}, "saved_at": DATE_TIME}),
    "SubmitResult": _obj({
        "state": {"const": "finished"}, "score": {"type": "number"}, "max_score": {"type": "number"},
        "passed": {"type": "boolean"}, "percent": {"type": "number"}}),
    "Certificate": _obj({
        "serial": {"type": "string"}, "holder": {"type": "string"}, "unit": {"type": "string"},
        "competencies": {"type": "array", "items": _obj({
            "code": {"type": "string"}, "name": {"type": "string"},
            "achieved_at": _nullable("string"), "expires_at": _nullable("string")})},
        "issued_at": DATE_TIME, "expires_at": DATE_TIME,
        "status": {"type": "string", "enum": ["valid", "expired", "revoked"]},
        "revoked_at": DATE_TIME,
        "test": {"type": "boolean", "description": "present and true when signed with a test identity"},
    }, required=["serial", "holder", "unit", "competencies", "issued_at", "expires_at", "status"]),
    "OfficialCompetency": _obj({
        "code": {"type": "string"},
        "state": {"type": "string", "enum": ["held", "expiring", "expired", "missing"],
                  "description": "expiring: held, but lapses within 30 days"},
        "expires_at": NULLABLE_DATE_TIME}),
    "Official": _obj({
        "id": {"type": "integer"}, "full_name": {"type": "string"},
        "unit": _nullable("string", description="Unit code"), "unit_name": _nullable("string"),
        "position": _nullable("string", description="Position code"),
        "qualified": {"type": "boolean", "description": "Qualifies as \"công chức số\" now"},
        "competencies": {"type": "array", "items": _ref("OfficialCompetency")}}),
    "OfficialsPage": _obj({
        "items": {"type": "array", "items": _ref("Official")},
        "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1, "maximum": 200},
        "total": {"type": "integer", "minimum": 0}, "pages": {"type": "integer", "minimum": 0},
        "total_exact": {"type": "boolean", "description": "false: more than `total` (10,000) match a name search "
                                                         "or a combination of filters; narrow it to count them"}}),
    "UnitSummary": _obj({
        "unit": _obj({"code": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"}}),
        "officials": {"type": "integer", "minimum": 0}, "qualified": {"type": "integer", "minimum": 0},
        "qualified_share": _nullable("number", minimum=0, maximum=1,
                                     description="qualified / officials; null without officials"),
        "competencies": {"type": "array", "items": _obj({
            "code": {"type": "string"}, "name": {"type": "string"}, "held": {"type": "integer"},
            "expiring_30": {"type": "integer"}, "expiring_60": {"type": "integer"},
            "expiring_90": {"type": "integer"}})},
        "children": {"type": "array", "items": _obj({
            "code": {"type": "string"}, "name": {"type": "string"}, "officials": {"type": "integer"},
            "qualified": {"type": "integer"}})}}),
    "OpenApiDocument": {"type": "object", "required": ["openapi", "info", "paths"]},
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    text = {401: "Not signed in, or the bearer token is invalid or expired", 403: "Not allowed for this role",
            404: "Not found (or outside the caller's scope)", 409: "Conflicts with the attempt's state",
            422: "Invalid parameters or body", 429: "Too many requests"}
    return {str(status): _json(_ref("Error"), text[status]) for status in statuses}


def _path_param(name: str, kind: str = "integer") -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


SIGNED_IN = [{"bearerAuth": []}, {"sessionCookie": []}]
PUBLIC: list = []

PATHS = {
    "/api/v1/token": {"post": {
        "operationId": "createToken", "summary": "Exchange e-mail and password for a bearer token",
        "security": PUBLIC,
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("TokenRequest")}}},
        "responses": {"201": _json(_ref("Token"), "Token created"), **_errors(401, 422, 429)}}},
    "/api/v1/me": {"get": {
        "operationId": "me", "summary": "My profile and competency standing", "security": SIGNED_IN,
        "responses": {"200": _json(_ref("Me"), "The caller"), **_errors(401)}}},
    "/api/v1/quizzes": {"get": {
        "operationId": "listQuizzes", "summary": "Quizzes open to me", "security": SIGNED_IN,
        "responses": {"200": _json({"type": "array", "items": _ref("Quiz")}, "Open quizzes"), **_errors(401)}}},
    "/api/v1/quizzes/{quiz_id}/attempts": {"post": {
        "operationId": "startAttempt", "summary": "Start, or resume my attempt in progress",
        "security": SIGNED_IN, "parameters": [_path_param("quiz_id")],
        "responses": {"200": _json(_ref("Attempt"), "Attempt in progress resumed"),
                      "201": _json(_ref("Attempt"), "New attempt started"), **_errors(401, 404, 409, 429)}}},
    "/api/v1/attempts/{attempt_id}": {"get": {
        "operationId": "getAttempt", "summary": "My attempt as started, with saved answers",
        "security": SIGNED_IN, "parameters": [_path_param("attempt_id")],
        "responses": {"200": _json(_ref("Attempt"), "The attempt"), **_errors(401, 404)}}},
    "/api/v1/attempts/{attempt_id}/answers/{slot}": {"put": {
        "operationId": "saveAnswer", "summary": "Save one answer (200 means committed)", "security": SIGNED_IN,
        "parameters": [_path_param("attempt_id"), _path_param("slot")],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("AnswerRequest")}}},
        "responses": {"200": _json(_ref("AnswerSaved"), "Saved"), **_errors(401, 404, 409, 422, 429)}}},
    "/api/v1/attempts/{attempt_id}/submit": {"post": {
        "operationId": "submitAttempt", "summary": "Submit my attempt (idempotent)", "security": SIGNED_IN,
        "parameters": [_path_param("attempt_id")],
        "responses": {"200": _json(_ref("SubmitResult"), "Graded"), **_errors(401, 404, 429)}}},
    "/api/v1/certificates/{serial}": {"get": {
        "operationId": "verifyCertificate", "summary": "Verify a certificate (public)", "security": PUBLIC,
        "parameters": [_path_param("serial", "string")],
        "responses": {"200": _json(_ref("Certificate"), "The certificate"), **_errors(404, 429)}}},
    "/api/v1/officials": {"get": {
        "operationId": "listOfficials", "summary": "Officials in my HR scope with their competency status",
        "description": "HR and admin only. A unit outside the caller's scope is 404.", "security": SIGNED_IN,
        "parameters": [
            _query("unit", {"type": "string"}, "Unit code: that unit and the units below it"),
            _query("status", {"type": "string", "enum": ["qualified", "not_qualified"]},
                   "Qualifies as \"công chức số\""),
            _query("competency", {"type": "string"}, "Competency code (for `holding` and `expiring`)"),
            _query("holding", {"type": "string", "enum": ["yes", "no"]},
                   "With `competency`: holds it (yes) or lacks it (no) now"),
            _query("expiring", {"type": "integer", "enum": [30, 60, 90]},
                   "A held competency (or the given one) lapses within this many days"),
            _query("position", {"type": "string"}, "Position code or id"),
            _query("q", {"type": "string"}, "Name, with or without diacritics, or e-mail"),
            _query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page number"),
            _query("per_page", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}, "Page size"),
        ],
        "responses": {"200": _json(_ref("OfficialsPage"), "One page of officials, in Vietnamese name order"),
                      **_errors(401, 403, 404, 422)}}},
    "/api/v1/units/{code}/summary": {"get": {
        "operationId": "unitSummary", "summary": "A unit's competency summary and its child units",
        "description": "HR and admin only. A unit outside the caller's scope is 404.", "security": SIGNED_IN,
        "parameters": [_path_param("code", "string")],
        "responses": {"200": _json(_ref("UnitSummary"), "The summary"), **_errors(401, 403, 404)}}},
    "/api/v1/openapi.json": {"get": {
        "operationId": "openapi", "summary": "This document", "security": PUBLIC,
        "responses": {"200": _json(_ref("OpenApiDocument"), "OpenAPI 3.1 document")}}},
}


# --- issue 20 (ward staffing): cover per duty, population and officials per 1,000 residents.
SCHEMAS["UnitCoverage"] = _obj({
    "unit": _obj({"code": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"}}),
    "on": {"type": "string", "format": "date", "description": "The day in Vietnam the figures are for"},
    "windows": {"type": "array", "items": {"type": "integer"}, "description": "Days ahead of `held_in_N`"},
    "wards": {"type": "array", "description": "The unit's wards (a page of them), or the unit itself for a ward",
              "items": _obj({
                  "code": {"type": "string"}, "name": {"type": "string"}, "type": {"type": "string"},
                  "officials": {"type": "integer", "minimum": 0}, "qualified": {"type": "integer", "minimum": 0},
                  "population": {"anyOf": [{"type": "null"}, _obj({
                      "registered": _nullable("integer", minimum=0), "actual": _nullable("integer", minimum=0),
                      "as_of": {"type": "string", "format": "date"}, "source": {"type": "string"}})]},
                  "officials_per_1000": _nullable("number", minimum=0, description="per actual residents when "
                                                                                  "known, else registered"),
                  "qualified_per_1000": _nullable("number", minimum=0),
                  "single_points_of_failure": {"type": "integer", "minimum": 0,
                                               "description": "duties exactly one official holds"},
                  "uncovered": {"type": "integer", "minimum": 0, "description": "duties nobody holds"},
                  "duties": {"type": "array", "items": _obj({
                      "position": {"type": "string"}, "position_name": {"type": "string"},
                      "competency": {"type": "string"}, "competency_name": {"type": "string"},
                      "officials": {"type": "integer", "minimum": 1, "description": "officials in the position"},
                      "held": {"type": "integer", "minimum": 0, "description": "of them, holding the competency now"},
                      "held_in_30": {"type": "integer", "minimum": 0}, "held_in_60": {"type": "integer", "minimum": 0},
                      "held_in_90": {"type": "integer", "minimum": 0},
                      "status": {"type": "string", "enum": ["none", "single", "covered"]}})}})},
    "page": {"type": "integer", "minimum": 1}, "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
    "total": {"type": "integer", "minimum": 0}, "pages": {"type": "integer", "minimum": 1}})
PATHS["/api/v1/units/{code}/coverage"] = {"get": {
    "operationId": "unitCoverage", "summary": "Cover per duty of a ward, or of a page of a city's wards",
    "description": "HR and admin only; a unit outside the caller's scope is 404. A duty is a job position staffed "
                   "in the ward with one competency it requires: how many of the ward's officials in that position "
                   "hold it now and 30/60/90 days from now; status `single` is a single point of failure.",
    "security": SIGNED_IN,
    "parameters": [_path_param("code", "string"),
                   _query("page", {"type": "integer", "minimum": 1, "default": 1}, "Page of wards"),
                   _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
                          "Wards per page")],
    "responses": {"200": _json(_ref("UnitCoverage"), "The cover"), **_errors(401, 403, 404, 422)}}}


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {"title": "Công Chức Số API", "version": __version__,
                 "description": "Attempts, certificates and the HR integration API. Every error is "
                                "{\"error\": {\"code\", \"message\"}} with the matching HTTP status."},
        "servers": [{"url": "/"}],
        "security": SIGNED_IN,
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "From POST /api/v1/token or `flask api-token create`"},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                                  "description": "The browser session; writes also need the X-CSRFToken header"},
            },
        },
    }


@bp.route("/openapi.json")
@access(public=True)
def openapi_json():
    return jsonify(openapi_document())
