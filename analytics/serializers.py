"""The shapes of the operations API's answers (for the OpenAPI schema; the data is built by
analytics.figure_export.figure_json, the same JSON the pages' charts draw)."""

from __future__ import annotations

from rest_framework import serializers

from analytics.figures import CHART_KINDS, COLUMN_KINDS
from analytics.models import SecurityAlert


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField(help_text="In the caller's language (Accept-Language: id or en)")
    kind = serializers.ChoiceField(choices=COLUMN_KINDS)


class FigureSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    note = serializers.CharField(allow_blank=True)
    chart = serializers.ChoiceField(choices=CHART_KINDS)
    x = serializers.CharField(allow_null=True, help_text="The column on the x axis (or of the categories)")
    series = serializers.ListField(child=serializers.CharField(), help_text="Columns on the left axis")
    secondary = serializers.ListField(child=serializers.CharField(), help_text="Columns on the right axis")
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(child=serializers.JSONField(allow_null=True)),
        help_text="One object per row, keyed by column key: numbers, text, ISO 8601 times (Asia/Jakarta) "
                  "and dates, or null")
    extra = serializers.DictField(child=serializers.JSONField(allow_null=True))


class PeriodSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="1h, 24h, 7d, 30d or range")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="Exclusive")
    bucket_seconds = serializers.IntegerField(help_text="The width of one point on a time chart")


class SectionOutSerializer(serializers.Serializer):
    section = serializers.CharField()
    period = PeriodSerializer()
    figures = FigureSerializer(many=True)


class StalledOutSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True, help_text="The next page's URL, or null")
    previous = serializers.CharField(allow_null=True, help_text="The previous page's URL, or null")
    figure = FigureSerializer(help_text="The stalled orders figure, its rows limited to this page")


class TimelineOutSerializer(serializers.Serializer):
    order_number = serializers.CharField()
    figures = FigureSerializer(many=True)


class SecurityAlertOutSerializer(serializers.ModelSerializer):
    """One security alert; times in UTC (ISO 8601), `details` the figures that triggered it."""

    acknowledged_by = serializers.EmailField(source="acknowledged_by.email", allow_null=True, default=None,
                                             help_text="The operator who acknowledged or muted it")
    details = serializers.DictField(child=serializers.JSONField(allow_null=True))

    class Meta:
        model = SecurityAlert
        fields = ["id", "detector", "ident", "mode", "action_taken", "status", "first_seen_at", "last_seen_at",
                  "occurrences", "details", "acknowledged_by", "acknowledged_at", "muted_until"]
        read_only_fields = fields
