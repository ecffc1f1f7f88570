from . import marketplace_sync_log
from . import marketplace_config
from . import marketplace_api
