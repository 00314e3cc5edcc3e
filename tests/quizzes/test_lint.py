"""The question-quality check: on a file, on the bank pages, in the import preview and on the CLI."""
import io

import sqlalchemy as sa

from quizzes.formats import parse_gift
from quizzes.lint import LintItem, lint, ref_of
from training.extensions import db

TEST_WISE = """
::Q1 Dài::Chữ ký số bảo đảm điều gì? {
=Xác thực người ký, toàn vẹn dữ liệu và chống chối bỏ đối với thông điệp dữ liệu đã ký
~Bí mật
~Tốc độ
~Màu mực
}

::Q2 Tất cả::Ai được ký số? {
=Người có thẩm quyền
~Văn thư
~Tất cả các phương án trên
~Không phương án nào
}

::Q3 Viết tắt::Công văn 557/BKHCN-CĐSQG do cơ quan nào ban hành? {
=Bộ Khoa học và Công nghệ
~Bộ Công an
~Bộ Nội vụ
~Văn phòng Chính phủ
}

::Q4 Trùng::Cơ quan nào ban hành Công văn 557/BKHCN-CĐSQG về chatbot? {
=Một bộ
~Một sở
~Một phường
~Một tỉnh
}
"""


def findings_of(text: str):
    result = parse_gift(text.encode(), ["x"])
    return lint([LintItem(ref_of(p.question), p.question, line=p.line) for p in result.questions], "Tệp")


def test_each_kind_of_giveaway_is_found_once_and_named():
    found = {(f.ref, f.code) for f in findings_of(TEST_WISE)}
    assert ("Q1 Dài", "key_longest") in found
    assert ("Q2 Tất cả", "all_none") in found
    assert ("Q3 Viết tắt", "stem_clue") in found
    assert any(code == "duplicate" for _ref, code in found)
    lines = [str(f) for f in findings_of(TEST_WISE)]
    assert all(line.startswith("Dòng ") for line in lines if "Q" in line.split(":")[0])


def test_a_fair_question_has_no_finding():
    fair = """::Q Công bằng::Chữ ký số bảo đảm tính chất nào của thông điệp dữ liệu? {
~Tính bí mật của nội dung
=Tính toàn vẹn của nội dung
~Tốc độ gửi văn bản đi
~Tính hợp pháp của nội dung
}"""
    assert findings_of(fair) == []


def test_key_always_first_and_unbalanced_true_false_are_found():
    singles = "".join(f"::S{n}::Câu {n} hỏi về điều gì số {n}? {{=Đáp án {n}a ~Sai {n}b ~Sai {n}c}}\n\n" for n in range(9))
    trues = "".join(f"::T{n}::Mệnh đề số {n} là đúng hay sai? {{T}}\n\n" for n in range(9))
    codes = [f.code for f in findings_of(singles + trues)]
    assert codes.count("key_position") == 1 and codes.count("truefalse_balance") == 1


def test_shipped_banks_are_clean(runner, make_position):
    from quizzes.cli import load_demo_quizzes

    make_position()
    load_demo_quizzes()
    db.session.commit()
    result = runner.invoke(args=["quizzes", "lint"])
    assert result.exit_code == 0, result.output
    assert "Không có phát hiện nào." in result.output


def test_cli_on_a_file_and_on_a_category(runner, tmp_path, make_position):
    path = tmp_path / "bank.gift"
    path.write_text("$CATEGORY: $course$/Thử\n" + TEST_WISE, encoding="utf-8")
    on_file = runner.invoke(args=["quizzes", "lint", "--file", str(path)])
    assert on_file.exit_code == 1 and "Q3 Viết tắt" in on_file.output and "BKHCN" in on_file.output
    assert runner.invoke(args=["quizzes", "import", str(path), "--format", "gift"]).exit_code == 0
    from quizzes.models import Question

    before = db.session.scalar(sa.select(sa.func.count(Question.id)))
    on_bank = runner.invoke(args=["quizzes", "lint", "--category", "Thử"])
    assert on_bank.exit_code == 1 and "Q1 Dài" in on_bank.output
    assert db.session.scalar(sa.select(sa.func.count(Question.id))) == before  # nothing changed
    missing = runner.invoke(args=["quizzes", "lint", "--category", "Không có"])
    assert missing.exit_code == 2 and "không có danh mục" in missing.output


def test_bank_page_and_import_preview_show_findings(client, auth, make_user, runner, tmp_path):
    make_user("gv@example.vn", roles=("trainer",))
    auth.login("gv@example.vn")
    preview = client.post("/quizzes/manage/import", data={
        "file": (io.BytesIO(TEST_WISE.encode()), "bank.gift"), "format": "gift", "category": "Thử",
        "competency_id": "0", "preview": "Xem trước"}, content_type="multipart/form-data")
    page = preview.get_data(as_text=True)
    assert "Kiểm tra chất lượng câu hỏi" in page and "BKHCN" in page
    path = tmp_path / "bank.gift"
    path.write_text("$CATEGORY: $course$/Thử\n" + TEST_WISE, encoding="utf-8")
    runner.invoke(args=["quizzes", "import", str(path), "--format", "gift"])
    from quizzes.bank import find_category

    category = find_category(["Thử"])
    bank = client.get(f"/quizzes/bank/?category={category.id}&sub=1").get_data(as_text=True)
    assert "Kiểm tra chất lượng câu hỏi" in bank and "Tất cả các phương án trên" in bank
