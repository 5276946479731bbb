"""The product's own tables (`mod_prorata_*`, defined in worker.own_schema): reading and
writing them. Steps and handlers go through here; worker.whmcs never imports them."""
