from odoo import api, models
from odoo.exceptions import AccessError

from ..access import MANAGER_GROUP, _group_name


class MarketplaceConnectorFields(models.AbstractModel):
    """The fields of a model that decide what the connector tells Cartona,
    refused to anyone but the connector and marketplace managers by every door:
    values given to ``create`` and ``write`` (so ``copy`` and import too), and
    the defaults Odoo applies inside ``create`` after any check on those values
    (``default_<field>`` context keys, a user's own defaults).

    The model's own overrides run before this guard: what they write of these
    fields themselves is the connector's bookkeeping, written with ``sudo()``."""

    _name = "marketplace.connector.fields"
    _description = "Fields only the Cartona connector writes"

    # Each model names its own.
    _cartona_connector_fields = frozenset()

    @api.model_create_multi
    def create(self, vals_list):
        if not self._may_write_connector_fields():
            self._refuse_connector_fields({name for vals in vals_list for name in vals})
        return super().create(vals_list)

    def write(self, vals):
        guarded = self._cartona_connector_fields & vals.keys()
        if guarded and not self._may_write_connector_fields():
            # A value written again is no change: Odoo's contact merge writes
            # every column of the partner it keeps, the retailer code included.
            self._refuse_connector_fields({name for name in guarded if self._changes(name, vals[name])})
        return super().write(vals)

    def _add_missing_default_values(self, values):
        defaults = super()._add_missing_default_values(values)
        # The person, not ``env.su``: Odoo's own code creates records with
        # ``sudo()`` and the caller's context (an invoice from a sale order),
        # and the connector gives its values, never defaults.
        if not (self.env.user._is_superuser() or self.env.user.has_group(MANAGER_GROUP)):
            given = {key[8:] for key, value in self.env.context.items() if key.startswith("default_") and value}
            given.update(self.env["ir.default"]._get_model_defaults(self._name))
            self._refuse_connector_fields({name for name in given - values.keys() if defaults.get(name)})
        return defaults

    def _may_write_connector_fields(self):
        # The connector (superuser, or its code through ``sudo()``), or a
        # marketplace manager, who owns the Cartona account anyway.
        return self.env.su or self.env.user.has_group(MANAGER_GROUP)

    def _changes(self, name, value):
        field = self._fields[name]
        new = field.convert_to_cache(value, self)
        return any(field.convert_to_cache(record[name], record) != new for record in self.sudo())

    def _refuse_connector_fields(self, names):
        touched = sorted(names & self._cartona_connector_fields)
        if touched:
            raise AccessError(
                self.env._(
                    "%(fields)s of %(model)s are set by the Cartona connector only: they decide what it "
                    "tells Cartona. Ask a member of %(group)s.",
                    fields=", ".join(self._fields[name].string for name in touched),
                    model=self._description,
                    group=_group_name(self.env, MANAGER_GROUP),
                )
            )
