"""Browser pages of the catalog app (included at the site root by okto88/urls.py).

Staff tools live under admin-tools/, not admin/: the admin site's catch-all would answer first.
"""

from django.urls import path

from catalog import views_import

app_name = "catalog"

urlpatterns = [
    path("admin-tools/catalog/import/", views_import.catalog_import_page, name="import"),
]
