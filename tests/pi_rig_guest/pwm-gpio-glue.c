// pi_rig: register the upstream pwm-gpio driver on x86, which has no device tree to name
// its GPIO, on line <line> of the chip labelled <chip> (gpio-mockup-A line 0 by default).
// It stands in for the Pi's PWM block behind /sys/class/pwm; it is test glue, not a driver.
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/gpio/machine.h>

static char *chip = "gpio-mockup-A";
module_param(chip, charp, 0444);
static int line;
module_param(line, int, 0444);

static struct gpiod_lookup_table lookup = {
	.dev_id = "pwm-gpio.0",
	.table = { {}, {} },
};
static struct platform_device *pdev;

static int __init rig_glue_init(void)
{
	lookup.table[0] = (struct gpiod_lookup)GPIO_LOOKUP(chip, line, NULL, GPIO_ACTIVE_HIGH);
	gpiod_add_lookup_table(&lookup);
	pdev = platform_device_register_simple("pwm-gpio", 0, NULL, 0);
	if (IS_ERR(pdev)) {
		gpiod_remove_lookup_table(&lookup);
		return PTR_ERR(pdev);
	}
	return 0;
}

static void __exit rig_glue_exit(void)
{
	platform_device_unregister(pdev);
	gpiod_remove_lookup_table(&lookup);
}
module_init(rig_glue_init);
module_exit(rig_glue_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("pi_rig: a pwm-gpio device without a device tree");
