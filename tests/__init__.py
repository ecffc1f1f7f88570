from . import test_install
from . import test_api
from . import test_product_sync
from . import test_stock_sync
