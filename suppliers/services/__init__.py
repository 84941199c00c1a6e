"""Supplier writes, one module per responsibility:

- suppliers: suppliers (NPWP normalised) and the binding of an API client to one supplier;
- warehouses: a supplier's warehouses;
- offers: offers and their prices (`offer.price_changed`);
- stock: stock with its ledger (the stock rule is in that module's docstring), reserve, release,
  commit, return, bulk set;
- best_offers: the best offer per part (read model), refreshed by every change above.

Callers import from here (`from suppliers import services`); the names below are the public ones.
Inside the package: suppliers, warehouses, offers → stock → best_offers (pyproject.toml).
"""

from suppliers.services.best_offers import part_best_offer_rebuild, part_best_offer_refresh
from suppliers.services.offers import (
    OFFER_UPDATABLE,
    offer_bulk_change_price,
    offer_bulk_set_active,
    offer_create,
    offer_delete,
    offer_update,
    price_change_by_percent,
)
from suppliers.services.stock import (
    ADJUST_REASONS,
    STOCK_BULK_MAX_ROWS,
    StockBulkResult,
    StockKey,
    StockLine,
    stock_adjust,
    stock_bulk_set,
    stock_commit_shipment,
    stock_ensure,
    stock_release,
    stock_reserve,
    stock_return,
    stock_set_on_hand,
)
from suppliers.services.suppliers import (
    SUPPLIER_UPDATABLE,
    npwp_normalise,
    supplier_api_client_bind,
    supplier_create,
    supplier_delete,
    supplier_update,
)
from suppliers.services.warehouses import AREA_FIELDS, WAREHOUSE_UPDATABLE, warehouse_create, warehouse_update

__all__ = [
    "ADJUST_REASONS", "AREA_FIELDS", "OFFER_UPDATABLE", "STOCK_BULK_MAX_ROWS", "SUPPLIER_UPDATABLE",
    "WAREHOUSE_UPDATABLE", "StockBulkResult", "StockKey", "StockLine",
    "npwp_normalise", "offer_bulk_change_price", "offer_bulk_set_active", "offer_create", "offer_delete",
    "offer_update",
    "part_best_offer_rebuild", "part_best_offer_refresh",
    "price_change_by_percent", "stock_adjust", "stock_bulk_set", "stock_commit_shipment", "stock_ensure",
    "stock_release", "stock_reserve", "stock_return", "stock_set_on_hand", "supplier_api_client_bind",
    "supplier_create", "supplier_delete",
    "supplier_update",
    "warehouse_create", "warehouse_update",
]
