"""Floor for bench/exam_day.py: a Flask app that answers every attempt-API request with constant JSON.

    gunicorn -c gunicorn.conf.py --bind 127.0.0.1:PORT 'bench.floor_json:create_app()'

It has the attempt API's URLs, so the exam-day load client runs against it unchanged, but it does
no work at all: no database, no authentication, no rate limit. What it serves per second is the
ceiling of Flask + gunicorn (+ the load client) on this machine, with the same server settings.
"""
from __future__ import annotations

from flask import Flask, jsonify

QUESTIONS = [{"slot": n, "type": "single", "text": f"Câu hỏi {n}", "mark": 1.0,
              "options": [{"id": f"q{n}o{k}", "text": f"Phương án {k}"} for k in range(4)]}
             for n in range(1, 21)]
SAVED_AT = "2026-01-01T00:00:00+00:00"


def create_app() -> Flask:
    app = Flask(__name__)

    @app.route("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.route("/api/v1/quizzes")
    def quizzes():
        return jsonify([{"id": 1, "title": "Sàn JSON", "attempts_left": None}])

    @app.route("/api/v1/quizzes/<int:quiz_id>/attempts", methods=["POST"])
    def start(quiz_id: int):
        return jsonify({"attempt_id": 1, "quiz_id": quiz_id, "state": "in_progress", "questions": QUESTIONS,
                        "answers": {}, "saved_at": {}}), 201

    @app.route("/api/v1/attempts/<int:attempt_id>/answers/<int:slot>", methods=["GET", "PUT"])
    def save(attempt_id: int, slot: int):
        return jsonify({"slot": slot, "saved_at": SAVED_AT})

    @app.route("/api/v1/attempts/<int:attempt_id>/submit", methods=["POST"])
    def submit(attempt_id: int):
        return jsonify({"state": "finished"})

    @app.route("/api/v1/attempts/<int:attempt_id>")
    def read(attempt_id: int):
        return jsonify({"attempt_id": attempt_id, "state": "finished", "answers": {}, "saved_at": {}})

    return app
