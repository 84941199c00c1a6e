from django.urls import path

from suppliers.admin_scoping import supplier_admin_site

urlpatterns = [
    path("supplier-admin/", supplier_admin_site.urls),
]
