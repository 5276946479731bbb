<?php

namespace ProrataAlign;

use ProrataAlign\Redis\RedisConfig;
use WHMCS\Database\Capsule;

if (!defined("WHMCS")) {
    die("This file cannot be accessed directly");
}

/**
 * The module's settings as WHMCS saved them in tbladdonmodules (module = prorata_align).
 *
 * Keys, labels and defaults are those of prorata_align_config() and of the worker's
 * domain/settings.py. A setting with no row takes its default; a saved value that makes no
 * sense is a SettingsError naming the setting, never silently replaced by the default. Each
 * value is checked when it is read, so a bad value in one setting does not stop the others.
 */
final class Settings
{
    public const MODULE = 'prorata_align';

    /** key => [label, default] */
    public const SPECS = [
        'client_area_button' => ['Button on client area', ''],
        'prorata_day' => ['Prorata Date', '1'],
        'prorate_monthly' => ['Prorate monthly', 'on'],
        'prorate_quarterly' => ['Prorate quarterly', 'on'],
        'prorate_semiannually' => ['Prorate semi-annual', 'on'],
        'prorate_annually' => ['Prorate annual', 'on'],
        'prorate_biennially' => ['Prorate biennial', 'on'],
        'prorate_triennially' => ['Prorate triennial', 'on'],
        'calculate_days_by_use' => ['Calculate days by date of use', 'on'],
        'days_month' => ['Days month', '30'],
        'days_quarter' => ['Days quarter', '90'],
        'days_half_year' => ['Days half year', '180'],
        'days_year' => ['Days year', '365'],
        'days_two_year' => ['Days two year', '730'],
        'days_three_year' => ['Days three year', '1095'],
        'align_addons' => ['Align product addons', 'on'],
        'cancel_unpaid_after_days' => ['Cancel unpaid alignment invoices after (days)', '30'],
        'minimum_days' => ['Minimum days to charge', '0'],
        'exclude_products' => ['Excluded products', ''],
        'exclude_product_groups' => ['Excluded product groups', ''],
        'exclude_addons' => ['Excluded addons', ''],
        'keep_on_day' => ["Keep services on the client's day", 'off'],
        'renewal_invoices' => ['Unpaid renewal invoices', 'edit'],
        'redis_host' => ['Redis host', '127.0.0.1'],
        'redis_port' => ['Redis port', '6379'],
        'redis_password' => ['Redis password', ''],
        'redis_db' => ['Redis database', '0'],
        'queue' => ['Queue', 'prorata'],
        'preview_timeout' => ['Preview wait (seconds)', '5'],
    ];

    private const YES = ['on', 'yes', '1', 'true'];
    private const NO = ['', 'off', 'no', '0', 'false'];

    /** @var array<string, string> saved values (setting => value) */
    private array $saved;

    /** @param array<string, string|null> $saved */
    public function __construct(array $saved = [])
    {
        $this->saved = [];
        foreach ($saved as $key => $value) {
            if ($value !== null) {
                $this->saved[(string) $key] = (string) $value;
            }
        }
    }

    /** The settings as saved now in WHMCS's database. */
    public static function load(): self
    {
        $rows = Capsule::table('tbladdonmodules')
            ->where('module', self::MODULE)
            ->get(['setting', 'value']);
        $saved = [];
        foreach ($rows as $row) {
            $saved[(string) $row->setting] = $row->value === null ? null : (string) $row->value;
        }

        return new self($saved);
    }

    /** @return array<string, string> every setting's default, as WHMCS saves it */
    public static function defaults(): array
    {
        return array_map(fn (array $spec) => $spec[1], self::SPECS);
    }

    /** The saved text of a setting, or its default. */
    public function raw(string $key): string
    {
        if (!isset(self::SPECS[$key])) {
            throw new \InvalidArgumentException('unknown setting ' . $key);
        }

        return $this->saved[$key] ?? self::SPECS[$key][1];
    }

    public function clientAreaButton(): bool
    {
        return $this->flag('client_area_button');
    }

    public function prorataDay(): int
    {
        return $this->number('prorata_day', 1, 31, 'a day of the month from 1 to 31');
    }

    public function alignAddons(): bool
    {
        return $this->flag('align_addons');
    }

    public function redisHost(): string
    {
        return $this->name('redis_host');
    }

    public function redisPort(): int
    {
        return $this->number('redis_port', 1, 65535, 'a port number from 1 to 65535');
    }

    public function redisPassword(): string
    {
        return $this->raw('redis_password'); // a password may begin or end with a space
    }

    public function redisDb(): int
    {
        return $this->number('redis_db', 0, 100000, 'a whole number of 0 or more');
    }

    public function queue(): string
    {
        return $this->name('queue');
    }

    public function previewTimeout(): int
    {
        return $this->number('preview_timeout', 1, 100000, 'a whole number of 1 or more');
    }

    public function redisConfig(): RedisConfig
    {
        return new RedisConfig($this->redisHost(), $this->redisPort(), $this->redisPassword(), $this->redisDb());
    }

    /** A yes/no setting: "on" (or yes, 1, true) or empty (or off, no, 0, false). */
    public function flag(string $key): bool
    {
        $value = strtolower(trim($this->raw($key)));
        if (in_array($value, self::YES, true)) {
            return true;
        }
        if (in_array($value, self::NO, true)) {
            return false;
        }
        throw $this->invalid($key, '"on" or empty');
    }

    private function number(string $key, int $low, int $high, string $expected): int
    {
        $text = trim($this->raw($key));
        if ($text === '' || !ctype_digit($text) || strlen($text) > 7) {
            throw $this->invalid($key, $expected);
        }
        $value = (int) $text;
        if ($value < $low || $value > $high) {
            throw $this->invalid($key, $expected);
        }

        return $value;
    }

    private function name(string $key): string
    {
        $text = trim($this->raw($key));
        if ($text === '' || preg_match('/\s/u', $text)) {
            throw $this->invalid($key, 'a name without spaces');
        }

        return $text;
    }

    private function invalid(string $key, string $expected): SettingsError
    {
        return new SettingsError($key, self::SPECS[$key][0], $this->raw($key), $expected);
    }
}
