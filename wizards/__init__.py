from . import marketplace_cancel_wizard
from . import marketplace_settlement_wizard
from . import marketplace_mapping_wizard
from . import marketplace_mapping_line
from . import marketplace_mapping_apply
from . import marketplace_fetch_order_wizard
from . import base_partner_merge
