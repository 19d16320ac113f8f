# Self-boot proof, run by va-test-hook inside the freshly built old appliance.
set -u
echo "VA-FACTS-BEGIN"
echo "HOSTNAME=$(hostname)"
echo "KERNEL=$(uname -r)"
echo "CMDLINE=$(cat /proc/cmdline)"
echo "BOOT_UUID=$(blkid -s UUID -o value /dev/vda1)"
ip -4 -o addr show
ip -4 route show
echo "--- lvs"
lvs --noheadings --units b --nosuffix -o vg_name,lv_name,lv_size,lv_path
echo "--- findmnt"
findmnt -n -o SOURCE,FSTYPE,TARGET /
findmnt -n -o SOURCE,FSTYPE,TARGET /boot
swapon --show=NAME --noheadings
echo "--- resolv.conf"
cat /etc/resolv.conf
echo "--- sfdisk"
sfdisk -d /dev/vda
echo "VA-FACTS-END"
