import pytest
from django.contrib.auth.models import User

from billtone.core.rows import ModelColumns


@pytest.mark.django_db
def test_only_some_columns_give_a_deferred_instance_that_cannot_insert():
    user = User.objects.create_user("rows", email="rows@example.com")
    part = ModelColumns(User, "u", only=["username"])
    assert part.names == ["id", "username"]
    (found,) = part.fetch(f"SELECT {part.select} FROM {part.table} WHERE u.id = %s", [user.pk])
    assert (found.pk, found.username) == (user.pk, "rows")
    assert "email" in found.get_deferred_fields()
    assert part.values((user.pk, "rows"), 0, using="default") == [user.pk, "rows"]
    with pytest.raises(TypeError):
        part.insert(User(username="other"))
