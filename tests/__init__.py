from . import test_install
from . import test_api
from . import test_order_import
from . import test_order_status
from . import test_concurrency
from . import test_status_push
from . import test_product_sync
from . import test_stock_sync
