from __future__ import annotations

from rest_framework import serializers

from vehicles.models import Make, VehicleModel, VehicleType, VehicleVariant
from vehicles.vin import CheckDigit


class MakeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Make
        fields = ["id", "name", "slug", "country"]


class VehicleModelSerializer(serializers.ModelSerializer):
    make_name = serializers.CharField(source="make.name", read_only=True)

    class Meta:
        model = VehicleModel
        fields = ["id", "make", "make_name", "name", "slug", "vehicle_type"]


class VehicleVariantSerializer(serializers.ModelSerializer):
    model_name = serializers.CharField(source="model.name", read_only=True)
    make = serializers.IntegerField(source="model.make_id", read_only=True)
    make_name = serializers.CharField(source="model.make.name", read_only=True)

    class Meta:
        model = VehicleVariant
        fields = [
            "id", "make", "make_name", "model", "model_name", "generation", "name",
            "year_from", "year_to", "engine_code", "displacement_cc", "fuel", "transmission",
            "body", "vehicle_type",
        ]


class DecodedVinSerializer(serializers.Serializer):
    vin = serializers.CharField(help_text="The VIN normalised: upper case, no spaces or dashes")
    wmi = serializers.CharField(help_text="World Manufacturer Identifier (positions 1-3)")
    vds = serializers.CharField(help_text="Vehicle Descriptor Section (positions 4-9)")
    vis = serializers.CharField(help_text="Vehicle Identifier Section (positions 10-17)")
    manufacturer = serializers.CharField(allow_null=True, help_text="The plant or company")
    make = serializers.CharField(allow_null=True, help_text="Main brand, as in /vehicles/makes/")
    makes = serializers.ListField(child=serializers.CharField(),
                                  help_text="Every brand this WMI is used for")
    country = serializers.CharField(allow_null=True)
    region = serializers.CharField(allow_null=True)
    vehicle_type = serializers.ChoiceField(choices=VehicleType.choices, allow_null=True)
    model_year = serializers.IntegerField(allow_null=True)
    check_digit = serializers.ChoiceField(
        choices=CheckDigit.CHOICES,
        help_text="Position 9: `invalid` only for North American VINs, where it is mandatory",
    )
    plant_code = serializers.CharField()
    serial_number = serializers.CharField()
    wmi_certain = serializers.BooleanField(
        help_text="False when the WMI entry is not confirmed against the registry",
    )


class VinLookupSerializer(serializers.Serializer):
    decoded = DecodedVinSerializer()
    candidates = VehicleVariantSerializer(many=True)
    candidates_truncated = serializers.BooleanField(
        help_text="More variants match than are listed; narrow with /vehicles/variants/",
    )
