from __future__ import annotations

import factory

from okto88 import services
from okto88.models import ApiClient, Scope, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.co.id")
    full_name = factory.Faker("name", locale="id_ID")
    password = factory.PostGenerationMethodCall("set_password", "s3cret-Passw0rd")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class OperatorFactory(UserFactory):
    is_staff = True
    is_superuser = True


class ApiClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApiClient

    name = factory.Sequence(lambda n: f"Partner {n}")
    contact_email = factory.Sequence(lambda n: f"partner{n}@example.co.id")


def issue_api_key(*, client: ApiClient | None = None, scopes: list[str] | None = None, **kwargs):
    """Issue a real key through the service; returns IssuedApiKey (api_key, raw_key)."""
    return services.api_key_issue(
        client=client or ApiClientFactory(), name="test key",
        scopes=list(Scope.values) if scopes is None else scopes, **kwargs,
    )
