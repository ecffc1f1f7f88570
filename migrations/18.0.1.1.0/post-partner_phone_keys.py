"""Every partner's phone and mobile get their key, so that customers entered
by hand are recognised. The old phone key column held only what the connector
wrote, from the retailer's first number in the old digits-only form: it is
computed again for every partner, from the partner's own phone. (The mobile's
key is a new column, which Odoo computes for every partner when it adds it.)"""

from odoo import SUPERUSER_ID, api
from odoo.tools import split_every


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    partners = env["res.partner"].with_context(active_test=False)
    cr.execute("SELECT id FROM res_partner ORDER BY id")
    for ids in split_every(10000, [row[0] for row in cr.fetchall()]):
        env.add_to_compute(partners._fields["cartona_phone_key"], partners.browse(ids))
        partners.flush_model(["cartona_phone_key"])
        env.invalidate_all()
