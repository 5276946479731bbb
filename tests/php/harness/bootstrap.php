<?php
/**
 * A small WHMCS-compatible environment for testing the addon outside WHMCS.
 *
 * It provides what the addon uses from WHMCS, the way WHMCS 8 provides it:
 * - the WHMCS constant, add_hook() / run_hook() and the addon's hooks.php loaded as WHMCS
 *   loads it;
 * - WHMCS\Database\Capsule: the real Illuminate Database capsule (Debian's
 *   php-illuminate-database, the library WHMCS ships), connected by PDO to the database in
 *   PRORATA_HARNESS_DB_URL: "sqlite:////abs/path.db" or "mysql+pymysql://user:pass@host:port/db"
 *   (the URLs the Python side uses);
 * - logActivity() writing tblactivitylog, generate_token() / check_token(), localAPI()
 *   (answers "error" unless a test registers a command with harness_register_local_api());
 * - WHMCS\View\Menu\Item (home page panels) and the Menu facade's context().
 *
 * The WHMCS tables are made by the Python side (`prorata sandbox init --db URL`).
 * PRORATA_HARNESS_REDIS_CLIENT ("auto", "phpredis" or "bundled") forces the Redis client.
 */

namespace WHMCS\View\Menu {
    /** The parts of WHMCS's menu item (a KnpMenu item) that panels and menus use. */
    class Item
    {
        private string $name;
        private array $options;
        /** @var array<string, Item> */
        private array $children = [];
        private ?Item $parent = null;

        public function __construct(string $name = 'root', array $options = [])
        {
            $this->name = $name;
            $this->options = $options + ['label' => $name, 'uri' => null, 'order' => null, 'icon' => null,
                'badge' => null, 'extras' => [], 'bodyHtml' => null, 'footerHtml' => null, 'attributes' => []];
        }

        public function addChild($child, array $options = []): Item
        {
            if (!$child instanceof Item) {
                $child = new Item((string) $child, $options);
            }
            $child->parent = $this;
            $this->children[$child->getName()] = $child;

            return $child;
        }

        public function getChild(string $name): ?Item
        {
            return $this->children[$name] ?? null;
        }

        public function removeChild($name): Item
        {
            unset($this->children[$name instanceof Item ? $name->getName() : $name]);

            return $this;
        }

        /** @return array<string, Item> */
        public function getChildren(): array
        {
            return $this->children;
        }

        public function hasChildren(): bool
        {
            return $this->children !== [];
        }

        public function getParent(): ?Item
        {
            return $this->parent;
        }

        public function getName(): string
        {
            return $this->name;
        }

        public function getLabel()
        {
            return $this->options['label'];
        }

        public function setLabel($label): Item
        {
            $this->options['label'] = $label;

            return $this;
        }

        public function getUri()
        {
            return $this->options['uri'];
        }

        public function setUri($uri): Item
        {
            $this->options['uri'] = $uri;

            return $this;
        }

        public function getOrder()
        {
            return $this->options['order'];
        }

        public function setOrder($order): Item
        {
            $this->options['order'] = $order;

            return $this;
        }

        public function getIcon()
        {
            return $this->options['icon'];
        }

        public function setIcon($icon): Item
        {
            $this->options['icon'] = $icon;

            return $this;
        }

        public function getBadge()
        {
            return $this->options['badge'];
        }

        public function setBadge($badge): Item
        {
            $this->options['badge'] = $badge;

            return $this;
        }

        public function getExtras(): array
        {
            return $this->options['extras'];
        }

        public function getExtra(string $name, $default = null)
        {
            return $this->options['extras'][$name] ?? $default;
        }

        public function setExtra(string $name, $value): Item
        {
            $this->options['extras'][$name] = $value;

            return $this;
        }

        public function getBodyHtml()
        {
            return $this->options['bodyHtml'];
        }

        public function setBodyHtml($html): Item
        {
            $this->options['bodyHtml'] = $html;

            return $this;
        }

        public function getFooterHtml()
        {
            return $this->options['footerHtml'];
        }

        public function setFooterHtml($html): Item
        {
            $this->options['footerHtml'] = $html;

            return $this;
        }

        /** The tree as plain arrays, for tests. */
        public function toArray(): array
        {
            $children = [];
            foreach ($this->children as $name => $child) {
                $children[$name] = $child->toArray();
            }

            return ['name' => $this->name] + $this->options + ['children' => $children];
        }
    }
}

namespace {
    use Illuminate\Database\Capsule\Manager;

    define('WHMCS', true);
    define('PRORATA_HARNESS_ROOT', dirname(__DIR__, 3));
    define('PRORATA_HARNESS_ADDON', PRORATA_HARNESS_ROOT . '/whmcs/modules/addons/prorata_align');

    /** Stops with a message the Python side shows as it is (exit code 3: the harness itself). */
    function harness_fail(string $message): void
    {
        fwrite(STDERR, 'harness: ' . $message . "\n");
        exit(3);
    }

    if (stream_resolve_include_path('Illuminate/Database/autoload.php') === false) {
        harness_fail('Illuminate Database is missing: install the Debian package php-illuminate-database');
    }
    require_once 'Illuminate/Database/autoload.php';

    // WHMCS ships Smarty, and the addon renders its admin templates with it: Debian's smarty3
    // (WHMCS 8 ships Smarty 3.1), or smarty4
    foreach (['/usr/share/php/smarty3/Smarty.class.php', '/usr/share/php/smarty4/Smarty.class.php'] as $smartyFile) {
        if (!class_exists('Smarty', false) && is_file($smartyFile)) {
            require_once $smartyFile;
        }
    }

    $harnessClient = getenv('PRORATA_HARNESS_REDIS_CLIENT');
    if ($harnessClient !== false && $harnessClient !== '') {
        define('PRORATA_ALIGN_REDIS_CLIENT', $harnessClient);
    }

    /** Illuminate connection settings from a SQLAlchemy-style database URL. */
    function harness_connection(string $url): array
    {
        if (str_starts_with($url, 'sqlite:///')) {
            $path = substr($url, strlen('sqlite:///'));
            if ($path === '' || $path === ':memory:') {
                harness_fail('an in-memory SQLite database cannot be shared with the Python side');
            }
            return ['driver' => 'sqlite', 'database' => $path, 'prefix' => '', 'foreign_key_constraints' => false];
        }
        $parts = parse_url($url);
        $scheme = strtolower((string) ($parts['scheme'] ?? ''));
        if ($parts === false || !preg_match('/^(mysql|mariadb)(\+\w+)?$/', $scheme)) {
            harness_fail('PRORATA_HARNESS_DB_URL must be sqlite:///PATH or mysql+pymysql://USER@HOST:PORT/DB');
        }
        $query = [];
        parse_str((string) ($parts['query'] ?? ''), $query);

        return [
            'driver' => 'mysql',
            'host' => $parts['host'] ?? '127.0.0.1',
            'port' => (int) ($parts['port'] ?? 3306),
            'database' => ltrim((string) ($parts['path'] ?? ''), '/'),
            'username' => urldecode((string) ($parts['user'] ?? 'root')),
            'password' => urldecode((string) ($parts['pass'] ?? '')),
            'charset' => $charset = (string) ($query['charset'] ?? 'utf8mb4'),
            // WHMCS 8 connects with utf8 (its tables' character set) or utf8mb4
            'collation' => $charset === 'utf8mb4' ? 'utf8mb4_unicode_ci' : 'utf8_unicode_ci',
            'prefix' => '',
            'strict' => false,
        ];
    }

    $databaseUrl = getenv('PRORATA_HARNESS_DB_URL');
    if ($databaseUrl === false || $databaseUrl === '') {
        harness_fail('set PRORATA_HARNESS_DB_URL to the sandbox database');
    }
    $capsule = new Manager();
    $capsule->addConnection(harness_connection($databaseUrl));
    $capsule->setAsGlobal();
    class_alias(Manager::class, 'WHMCS\\Database\\Capsule');

    // ---- hooks -------------------------------------------------------------------------

    $GLOBALS['harness_hooks'] = [];

    function add_hook($hookName, $priority, $function)
    {
        $GLOBALS['harness_hooks'][$hookName][] = [
            'priority' => (int) $priority,
            'order' => count($GLOBALS['harness_hooks'][$hookName] ?? []),
            'function' => $function,
        ];
    }

    /** Calls every function added for the hook, lowest priority number first; their answers. */
    function run_hook($hookName, $args)
    {
        $hooks = $GLOBALS['harness_hooks'][$hookName] ?? [];
        usort($hooks, fn ($a, $b) => [$a['priority'], $a['order']] <=> [$b['priority'], $b['order']]);
        $results = [];
        foreach ($hooks as $hook) {
            $results[] = call_user_func($hook['function'], $args);
        }

        return $results;
    }

    // ---- WHMCS functions ---------------------------------------------------------------

    function logActivity($message, $userId = 0)
    {
        \WHMCS\Database\Capsule::table('tblactivitylog')->insert([
            'date' => date('Y-m-d H:i:s'),
            'description' => (string) $message,
            'user' => isset($_SESSION['adminid']) ? 'Admin' : 'System',
            'userid' => (int) $userId,
            'admin_id' => (int) ($_SESSION['adminid'] ?? 0),
            'ipaddr' => '',
        ]);
    }

    function generate_token($type = 'form')
    {
        if (empty($_SESSION['tkval'])) {
            $_SESSION['tkval'] = bin2hex(random_bytes(20));
        }
        $token = $_SESSION['tkval'];
        if ($type === 'plain') {
            return $token;
        }
        if ($type === 'link') {
            return '&token=' . $token;
        }

        return '<input type="hidden" name="token" value="' . $token . '" />';
    }

    /** WHMCS stops the request on a bad token; the harness throws so a test can see it. */
    function check_token($namespace = 'WHMCS.default', $token = null)
    {
        $given = $token ?? ($_POST['token'] ?? $_GET['token'] ?? $_REQUEST['token'] ?? '');
        $expected = $_SESSION['tkval'] ?? '';
        if ($expected === '' || !is_string($given) || !hash_equals($expected, $given)) {
            throw new HarnessCsrfError('Invalid CSRF Protection Token');
        }

        return true;
    }

    class HarnessCsrfError extends RuntimeException
    {
    }

    $GLOBALS['harness_local_api'] = [];
    $GLOBALS['harness_local_api_calls'] = [];

    function harness_register_local_api(string $command, callable $answer): void
    {
        $GLOBALS['harness_local_api'][strtolower($command)] = $answer;
    }

    function localAPI($command, $params = [], $adminUser = '')
    {
        $GLOBALS['harness_local_api_calls'][] = ['command' => $command, 'params' => $params, 'admin' => $adminUser];
        $answer = $GLOBALS['harness_local_api'][strtolower((string) $command)] ?? null;
        if ($answer === null) {
            return ['result' => 'error', 'message' => "localAPI command {$command} is not available in the test harness"];
        }

        return $answer($params, $adminUser);
    }

    /** WHMCS's Menu facade: context('client') is the logged-in client (a model with id, language). */
    class Menu
    {
        /** @var array<string, mixed> */
        public static array $context = [];

        public static function context($name)
        {
            return self::$context[$name] ?? null;
        }
    }

    // ---- the addon, as WHMCS loads it on every page -------------------------------------

    require PRORATA_HARNESS_ADDON . '/hooks.php';
}
