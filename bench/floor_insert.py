"""Floor for bench/exam_day.py: a minimal Flask-SQLAlchemy app that writes one row per request.

    FLOOR_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/ccs_exam \\
        gunicorn -c gunicorn.conf.py --bind 127.0.0.1:PORT 'bench.floor_insert:create_app()'

It has the attempt API's URLs, so the exam-day load client runs against it unchanged:
- start (POST …/quizzes/<id>/attempts): INSERT one attempt row, COMMIT;
- save (PUT …/attempts/<id>/answers/<slot>): INSERT one answer row, COMMIT;
- submit (POST …/submit): UPDATE the attempt row by primary key, COMMIT;
- read back (GET …/attempts/<id>): one SELECT of the attempt's answer rows, the latest per slot wins.
No authentication, no rate limit, no validation, default engine options. What it serves is the
floor of the same stack (Flask, Flask-SQLAlchemy, psycopg, gunicorn, PostgreSQL) for one committed
write per request; issue 16 asks autosave to reach at least 0.7x its throughput.

The runner creates the tables (`reset_tables`) before starting the server, so that two workers
never race to create them.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone

from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()

QUESTIONS = [{"slot": n, "type": "single", "text": f"Câu hỏi {n}", "mark": 1.0,
              "options": [{"id": f"q{n}o{k}", "text": f"Phương án {k}"} for k in range(4)]}
             for n in range(1, 21)]


class FloorAttempt(db.Model):
    __tablename__ = "bench_floor_attempts"
    id = db.Column(db.Integer, primary_key=True)
    quiz_id = db.Column(db.Integer, nullable=False)
    state = db.Column(db.String(20), nullable=False)
    started_at = db.Column(db.DateTime(timezone=True), nullable=False)


class FloorAnswer(db.Model):
    __tablename__ = "bench_floor_answers"
    id = db.Column(db.BigInteger, primary_key=True)
    attempt_id = db.Column(db.Integer, nullable=False, index=True)
    slot = db.Column(db.Integer, nullable=False)
    response = db.Column(db.JSON)
    saved_at = db.Column(db.DateTime(timezone=True), nullable=False)


def database_url() -> str:
    url = os.environ.get("FLOOR_DATABASE_URL") or os.environ.get("DATABASE_URL") or ""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if not url:
        raise RuntimeError("FLOOR_DATABASE_URL is not set")
    return url


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url()
    db.init_app(app)

    @app.route("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.route("/api/v1/quizzes")
    def quizzes():
        return jsonify([{"id": 1, "title": "Sàn ghi một dòng", "attempts_left": None}])

    @app.route("/api/v1/quizzes/<int:quiz_id>/attempts", methods=["POST"])
    def start(quiz_id: int):
        attempt = FloorAttempt(quiz_id=quiz_id, state="in_progress", started_at=datetime.now(timezone.utc))
        db.session.add(attempt)
        db.session.flush()
        attempt_id = attempt.id  # read before the commit expires it (no second SELECT)
        db.session.commit()
        return jsonify({"attempt_id": attempt_id, "quiz_id": quiz_id, "state": "in_progress",
                        "questions": QUESTIONS, "answers": {}, "saved_at": {}}), 201

    @app.route("/api/v1/attempts/<int:attempt_id>/answers/<int:slot>", methods=["PUT"])
    def save(attempt_id: int, slot: int):
        body = request.get_json(silent=True) or {}
        saved_at = datetime.now(timezone.utc)
        db.session.add(FloorAnswer(attempt_id=attempt_id, slot=slot, response=body.get("response"),
                                   saved_at=saved_at))
        db.session.commit()
        return jsonify({"slot": slot, "saved_at": saved_at.isoformat()})

    @app.route("/api/v1/attempts/<int:attempt_id>/submit", methods=["POST"])
    def submit(attempt_id: int):
        db.session.execute(db.update(FloorAttempt).where(FloorAttempt.id == attempt_id).values(state="finished"))
        db.session.commit()
        return jsonify({"state": "finished"})

    @app.route("/api/v1/attempts/<int:attempt_id>")
    def read(attempt_id: int):
        rows = db.session.execute(db.select(FloorAnswer.slot, FloorAnswer.response, FloorAnswer.saved_at)
                                  .where(FloorAnswer.attempt_id == attempt_id).order_by(FloorAnswer.id)).all()
        answers, saved = {}, {}
        for slot, response, saved_at in rows:  # the latest row per slot wins, as an update would
            answers[str(slot)] = response
            saved[str(slot)] = saved_at.isoformat()
        return jsonify({"attempt_id": attempt_id, "state": "finished", "answers": answers, "saved_at": saved})

    return app


def reset_tables() -> None:
    """Drop and create the floor's two tables (the runner calls this before each floor run)."""
    app = create_app()
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
