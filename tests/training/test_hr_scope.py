"""HR scope: ward HR sees only its ward; city HR sees the city."""
import pytest


@pytest.fixture
def staffed(org, make_user):
    people = {
        "hr_ward": make_user("hr.ward@example.vn", "Nguyễn Thị Hân", roles=("hr",), unit=org["ward_a"]),
        "hr_city": make_user("hr.city@example.vn", "Phạm Quốc Bảo", roles=("hr",), unit=org["city"]),
        "in_a": make_user("a@example.vn", "Trần Văn Minh", unit=org["dept_a"], position=org["position"]),
        "in_b": make_user("b@example.vn", "Lê Thị Bích", unit=org["ward_b"], position=org["position"]),
        "hr_none": make_user("hr.none@example.vn", "Không Đơn Vị", roles=("hr",)),
    }
    return people


def test_ward_hr_sees_only_its_ward(client, auth, staffed):
    auth.login("hr.ward@example.vn")
    page = client.get("/hr/officials").get_data(as_text=True)
    assert "Trần Văn Minh" in page and "Lê Thị Bích" not in page
    # Not through a unit filter either, nor by opening the official directly.
    page = client.get("/hr/officials?unit=HCM-BT").get_data(as_text=True)
    assert "Lê Thị Bích" not in page and "trong phạm vi của bạn" in page
    assert client.get(f"/hr/officials/{staffed['in_b'].id}").status_code == 404
    detail = client.get(f"/hr/officials/{staffed['in_a'].id}")
    assert detail.status_code == 200 and "Chưa đạt" in detail.get_data(as_text=True)


def test_city_hr_sees_the_city(client, auth, staffed):
    auth.login("hr.city@example.vn")
    page = client.get("/hr/officials").get_data(as_text=True)
    assert "Trần Văn Minh" in page and "Lê Thị Bích" in page
    assert client.get(f"/hr/officials/{staffed['in_b'].id}").status_code == 200
    only_b = client.get("/hr/officials?unit=HCM-BT").get_data(as_text=True)
    assert "Lê Thị Bích" in only_b and "Trần Văn Minh" not in only_b


def test_hr_without_unit_has_no_scope(client, auth, staffed):
    auth.login("hr.none@example.vn")
    assert client.get("/hr/officials").status_code == 403
