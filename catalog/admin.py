"""Staff admin for the catalog, fast at 200,000 parts and 5,000,000 fitment rows.

- no full COUNT(*) on filtered pages (`show_full_result_count = False`), related rows in
  the list query (`list_select_related`), autocomplete or raw-id widgets, never a
  <select> with every part or variant in it;
- search on number keys is exact ("=") or prefix ("^") so it uses the btree index; names
  go through icontains, which the trigram index on search_text does not serve, so the
  search box also matches the normalised number first;
- every write with a rule goes through catalog.services, so the version, the outbox event
  and the search document follow every change made here.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from catalog import selectors, services
from catalog.errors import DuplicatePart, InvalidPartNumber, SupersessionCycle
from catalog.models import Brand, Category, CrossReference, Fitment, Part
from catalog.normalise import part_number_normalise
from okto88.errors import ApplicationError, error_message


def _copy_saved(target, saved) -> None:
    """Admin keeps using the object it built; give it what the service saved."""
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False


class ServiceErrorsAsMessages:
    """A service may still refuse a change (a race the form could not see): show it as a
    message rather than a 500. An add that fails still raises: there is no object to show."""

    def _run(self, request, call, *, change: bool = True) -> bool:
        if not change:
            call()
            return True
        try:
            with transaction.atomic():
                call()
        except ApplicationError as exc:
            self.message_user(request, error_message(exc, staff=True), level=messages.ERROR)
            return False
        return True


@admin.register(Brand)
class BrandAdmin(ServiceErrorsAsMessages, admin.ModelAdmin):
    list_display = ["name", "kind", "country"]
    list_filter = ["kind", "country"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        services.brand_save(brand=obj)


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["parent", "slug", "name_id", "name_en", "synonyms"]

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if parent and self.instance.pk and (
            parent.pk == self.instance.pk
            or self.instance.pk in selectors.category_ancestor_ids(category_id=parent.pk)
        ):
            raise forms.ValidationError(_("A category cannot be placed under itself or its subcategories."))
        return parent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ["name_id", "name_en", "parent", "slug"]
    list_filter = ["parent"]
    search_fields = ["name_id", "name_en", "synonyms", "slug"]
    autocomplete_fields = ["parent"]
    list_select_related = ["parent"]
    prepopulated_fields = {"slug": ["name_en"]}

    def save_model(self, request, obj, form, change):
        services.category_save(category=obj)


class CrossReferenceInline(admin.TabularInline):
    """Shown, not edited here: cross references are added through their own page."""

    model = CrossReference
    fields = ["brand_name", "number", "number_key", "is_oe"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class PartForm(forms.ModelForm):
    class Meta:
        model = Part
        fields = [*services.PART_EDITABLE_FIELDS, "superseded_by"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name_en"].required = False  # part_create uses the Indonesian name

    def clean(self):
        data = super().clean()
        number, brand = data.get("number"), data.get("brand")
        if number is not None:
            key = part_number_normalise(number)
            if not key:
                self.add_error("number", InvalidPartNumber.title)
            elif brand and selectors.part_number_taken(brand_id=brand.pk, number_key=key,
                                                       exclude_pk=self.instance.pk):
                self.add_error("number", DuplicatePart.title)
        new = data.get("superseded_by")
        if self.instance.pk and "superseded_by" in self.changed_data:
            if new is None:
                self.add_error("superseded_by", _("A supersession cannot be undone here."))
            elif selectors.part_supersession_would_loop(old_id=self.instance.pk, new_id=new.pk):
                self.add_error("superseded_by", SupersessionCycle.title)
        return data


@admin.register(Part)
class PartAdmin(ServiceErrorsAsMessages, admin.ModelAdmin):
    form = PartForm
    list_display = ["number", "brand", "name_id", "name_en", "category", "status", "version", "updated_at"]
    list_filter = ["status", "brand__kind", "brand", "category"]
    # search_text holds the lower-cased names, brand and category words; LIKE '%word%' on
    # it is served by its trigram GIN index (icontains, being UPPER(...) LIKE, is not).
    search_fields = ["=number_key", "^number", "search_text__contains"]
    autocomplete_fields = ["brand", "category"]
    raw_id_fields = ["superseded_by"]
    list_select_related = ["brand", "category"]
    readonly_fields = ["number_key", "version", "created_at", "updated_at"]
    show_full_result_count = False
    list_per_page = 50
    inlines = [CrossReferenceInline]

    def get_search_results(self, request, queryset, search_term):
        # Typed numbers come in any spelling: also match their normalised key exactly.
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term.lower())
        key = part_number_normalise(search_term)
        if key:
            queryset |= self.model.objects.filter(number_key=key)
        return queryset, may_have_duplicates

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in services.PART_EDITABLE_FIELDS if name in form.cleaned_data}
        new_successor = form.cleaned_data.get("superseded_by")

        def write():
            if change:
                changed = {name: value for name, value in data.items() if name in form.changed_data}
                part = services.part_update(part=obj, data=changed)
            else:
                part = services.part_create(**data)
            if new_successor is not None and "superseded_by" in form.changed_data:
                part = services.part_supersede(old=part, new=new_successor)
            _copy_saved(obj, part)

        self._run(request, write, change=change)

    # Through the service: the variants' facet counts follow the deleted fitment.
    def delete_model(self, request, obj):
        services.part_delete(part=obj)

    def delete_queryset(self, request, queryset):
        for part in queryset.order_by("pk"):
            services.part_delete(part=part)


class CrossReferenceForm(forms.ModelForm):
    class Meta:
        model = CrossReference
        fields = ["part", "brand_name", "number", "is_oe"]

    def clean_number(self):
        number = self.cleaned_data["number"]
        if not part_number_normalise(number):
            raise forms.ValidationError(InvalidPartNumber.title)
        return number


@admin.register(CrossReference)
class CrossReferenceAdmin(ServiceErrorsAsMessages, admin.ModelAdmin):
    form = CrossReferenceForm
    list_display = ["brand_name", "number", "part", "is_oe"]
    list_filter = ["is_oe"]
    search_fields = ["=number_key", "^number", "brand_name", "=part__number_key"]
    autocomplete_fields = ["part"]
    list_select_related = ["part__brand"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # A changed number is another cross reference: delete this one and add that.
        return ["part", "brand_name", "number", "number_key"] if obj else ["number_key"]

    def save_model(self, request, obj, form, change):
        def write():
            reference = services.cross_reference_add(
                part=obj.part, brand_name=obj.brand_name, number=obj.number, is_oe=obj.is_oe)
            _copy_saved(obj, reference)

        self._run(request, write, change=change)

    def delete_model(self, request, obj):
        services.cross_reference_remove(reference=obj)

    def delete_queryset(self, request, queryset):
        for reference in queryset.select_related("part"):
            services.cross_reference_remove(reference=reference)


def _fitment_specs_of(part_id: int, *, without: set[int] = frozenset()) -> list[services.FitmentSpec]:
    return [
        services.FitmentSpec(variant_id=f.variant_id, position=f.position, quantity=f.quantity, note=f.note)
        for f in Fitment.objects.filter(part_id=part_id).exclude(pk__in=without)
    ]


@admin.register(Fitment)
class FitmentAdmin(ServiceErrorsAsMessages, admin.ModelAdmin):
    list_display = ["part", "variant", "position", "quantity", "note"]
    list_filter = ["position"]
    # Exact keys only: a substring search over 5,000,000 rows would scan them all.
    search_fields = ["=part__number_key", "=variant__model__name"]
    autocomplete_fields = ["part", "variant"]
    list_select_related = ["part__brand", "variant__model__make"]
    show_full_result_count = False
    list_per_page = 50

    def save_model(self, request, obj, form, change):
        # fitment_set takes a part's whole list: this row replaces its old self in it.
        def write():
            specs = _fitment_specs_of(obj.part_id, without={obj.pk} if obj.pk else set())
            if change and form.initial.get("part") not in (None, obj.part_id):
                services.fitment_set(part=Part.objects.get(pk=form.initial["part"]),
                                     fitments=_fitment_specs_of(form.initial["part"], without={obj.pk}))
            specs.append(services.FitmentSpec(variant_id=obj.variant_id, position=obj.position,
                                              quantity=obj.quantity, note=obj.note))
            rows = services.fitment_set(part=obj.part, fitments=specs)
            saved = next(f for f in rows if (f.variant_id, f.position) == (obj.variant_id, obj.position))
            _copy_saved(obj, saved)

        self._run(request, write, change=change)

    def delete_model(self, request, obj):
        services.fitment_set(part=obj.part, fitments=_fitment_specs_of(obj.part_id, without={obj.pk}))

    def delete_queryset(self, request, queryset):
        by_part: dict[int, set[int]] = {}
        for pk, part_id in queryset.values_list("pk", "part_id"):
            by_part.setdefault(part_id, set()).add(pk)
        with transaction.atomic():
            for part in Part.objects.filter(pk__in=list(by_part)).order_by("pk"):
                services.fitment_set(part=part, fitments=_fitment_specs_of(part.pk, without=by_part[part.pk]))
