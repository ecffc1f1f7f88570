from . import marketplace_sync_log
from . import marketplace_config
from . import marketplace_api
from . import product_product
from . import res_partner
from . import sale_order
from . import sale_order_line
