<?php

namespace ProrataAlign\Admin;

use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/** The payment gateways' display names (tblpaymentgateways "name"), each read once per page. */
final class GatewayNames
{
    /** @var array<string, string> gateway system name => display name */
    private array $gatewayNames = [];

    /** The display name of a gateway; its system name when it has none. */
    public function of(string $gateway): string
    {
        if ($gateway === '') {
            return '';
        }
        if (!isset($this->gatewayNames[$gateway])) {
            $name = null;
            try {
                $name = Capsule::table('tblpaymentgateways')
                    ->where('gateway', $gateway)
                    ->where('setting', 'name')
                    ->value('value');
            } catch (\Throwable $e) {
                $name = null; // no gateway table: show the system name
            }
            $this->gatewayNames[$gateway] = is_string($name) && $name !== '' ? $name : $gateway;
        }

        return $this->gatewayNames[$gateway];
    }
}
