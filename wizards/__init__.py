from . import marketplace_cancel_wizard
from . import marketplace_fetch_order_wizard
